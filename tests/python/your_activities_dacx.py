"""Seed 002 ("Core application"): the Activity Definition, as printed."""

from temporalio import activity
from your_dataobject_dacx import YourParams


@activity.defn(name="your_activity")
async def your_activity(input: YourParams) -> str:
    return f"{input.greeting}, {input.name}!"
