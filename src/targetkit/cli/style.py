"""Terminal output: colour only when stdout is a terminal and ``NO_COLOR`` is unset."""

from __future__ import annotations

import os
import sys
from typing import TextIO

__all__ = ["Style", "colour_wanted"]

_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


def colour_wanted(stream: TextIO) -> bool:
    """https://no-color.org: any non-empty NO_COLOR turns colour off; so does a pipe."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Style:
    """Wraps text in ANSI colours when enabled; returns it unchanged otherwise."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.enabled = colour_wanted(stream or sys.stdout) if enabled is None else enabled

    def paint(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def good(self, text: str) -> str:
        return self.paint(text, "green")

    def bad(self, text: str) -> str:
        return self.paint(text, "red")

    def warn(self, text: str) -> str:
        return self.paint(text, "yellow")

    def accent(self, text: str) -> str:
        return self.paint(text, "cyan")
