"""gap: the data object module seed 002's examples import (`from
your_dataobject_dacx import YourParams`); the page never shows it."""

from dataclasses import dataclass


@dataclass
class YourParams:
    greeting: str
    name: str
