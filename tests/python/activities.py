"""gap: seed 002's timeout example does `from activities import your_activity,
YourParams`; this module provides those names."""

from your_activities_dacx import your_activity  # noqa: F401
from your_dataobject_dacx import YourParams  # noqa: F401
