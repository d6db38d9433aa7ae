"""YAML loading that remembers line numbers, so validation errors point at the line to fix.

Every config file (topics, subscribers, feeds) is read through `load_yaml`; mappings come back as
`LineDict` and sequences as `LineList`, which carry the line of each key and item. `Checker` turns
a wrong value into a `ConfigError` naming file, line, entry and fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import yaml

from newsbrief.errors import ConfigError


class LineDict(dict):
    """A YAML mapping with the 1-based line of the mapping and of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A YAML sequence with the 1-based line of the sequence and of each item."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise ConfigError(
                    getattr(self, "_path", None),
                    key_node.start_mark.line + 1,
                    f"key '{key}' appears twice (first on line {seen[key]})",
                    "keep one of them",
                )
            seen[key] = key_node.start_mark.line + 1
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            self.construct_object(k, deep=True): k.start_mark.line + 1 for k, _ in node.value
        }
        return mapping

    def construct_sequence(self, node, deep=False):
        seq = LineList(super().construct_sequence(node, deep=True))
        seq.line = node.start_mark.line + 1
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        return seq


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence
)


def load_yaml(path: str | Path, *, what: str = "configuration file") -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a ConfigError with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, f"{what} not found", "create it or point the setting at an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read {what}: {exc}", "save it as UTF-8 text") from None
    loader = _LineLoader(text)
    loader._path = str(path)
    try:
        return loader.get_single_data()
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(path, line, f"not valid YAML: {exc.problem or exc}", "check indentation and quoting") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, f"not valid YAML: {exc}", "check indentation and quoting") from None
    finally:
        loader.dispose()


class Checker:
    """Validation helpers that raise ConfigError pointing at the offending key of a YAML file."""

    def __init__(self, path: str | Path):
        self.path = str(path)

    def fail(self, node: Any, key: Any, message: str, fix: str | None = None) -> NoReturn:
        line = None
        if isinstance(node, LineDict):
            line = node.line_of(key) if key is not None else node.line
        elif isinstance(node, LineList):
            line = node.line_of(key) if isinstance(key, int) else node.line
        raise ConfigError(self.path, line, message, fix)

    def mapping(self, node: Any, where: str) -> LineDict:
        if not isinstance(node, dict):
            self.fail(node, None, f"{where} must be a mapping (key: value), got {type(node).__name__}")
        return node

    def sequence(self, parent: Any, key: str, where: str, *, required: bool = True) -> list:
        value = parent.get(key) if isinstance(parent, dict) else None
        if value is None:
            if required:
                self.fail(parent, None, f"{where}: '{key}' is missing", f"add '{key}:' with a list")
            return []
        if not isinstance(value, list):
            self.fail(parent, key, f"{where}: '{key}' must be a list, got {type(value).__name__}")
        return value

    def string(self, parent: dict, key: str, where: str, *, required: bool = True, default: str | None = None) -> str | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(parent, None, f"{where}: '{key}' is missing", f"add '{key}: ...'")
            return default
        if not isinstance(value, str) or not value.strip():
            self.fail(parent, key, f"{where}: '{key}' must be a non-empty string, got {value!r}")
        return value.strip()

    def strings(self, parent: dict, key: str, where: str, *, required: bool = False) -> list[str]:
        items = self.sequence(parent, key, where, required=required)
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                self.fail(items, i, f"{where}: item {i + 1} of '{key}' must be a non-empty string, got {item!r}")
        return [s.strip() for s in items]

    def number(self, parent: dict, key: str, where: str, *, default: float | None = None,
               minimum: float | None = None, maximum: float | None = None, integer: bool = False) -> float | None:
        value = parent.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            kind = "a whole number" if integer else "a number"
            self.fail(parent, key, f"{where}: '{key}' must be {kind}, got {value!r}")
        if minimum is not None and value < minimum:
            self.fail(parent, key, f"{where}: '{key}' must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            self.fail(parent, key, f"{where}: '{key}' must be at most {maximum}, got {value}")
        return value

    def boolean(self, parent: dict, key: str, where: str, *, default: bool) -> bool:
        value = parent.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(parent, key, f"{where}: '{key}' must be true or false, got {value!r}")
        return value

    def known_keys(self, node: dict, allowed: set[str], where: str) -> None:
        for key in node:
            if key not in allowed:
                self.fail(node, key, f"{where}: unknown key '{key}'",
                          f"use one of: {', '.join(sorted(allowed))}")
