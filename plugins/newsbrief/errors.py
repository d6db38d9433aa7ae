"""Errors that name the input at fault and the fix, so a user can act on the message alone."""

from __future__ import annotations

from pathlib import Path


class NewsbriefError(Exception):
    """Base class: everything newsbrief raises on purpose."""


class ConfigError(NewsbriefError):
    """A configuration file (YAML) is wrong; the message points at the file, line and fix."""

    def __init__(self, path: str | Path | None, line: int | None, message: str, fix: str | None = None):
        self.path = str(path) if path is not None else "<config>"
        self.line = line
        self.message = message
        self.fix = fix
        where = f"{self.path}:{line}" if line else self.path
        text = f"{where}: {message}"
        if fix:
            text += f" (fix: {fix})"
        super().__init__(text)


class InputError(NewsbriefError):
    """One input (a seed file, a feed, a page) cannot be used; the run skips it and reports it."""

    def __init__(self, source: str, reason: str, fix: str | None = None):
        self.source = source
        self.reason = reason
        self.fix = fix
        text = f"{source}: {reason}"
        if fix:
            text += f" (fix: {fix})"
        super().__init__(text)
