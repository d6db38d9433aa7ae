"""Reads docker-compose.yml the way Docker Compose does: merge keys resolved, ``${VAR}`` interpolated.

Shared by the static compose test and the native topology test, so that the configuration keys the
native test gives every Airflow component are, by construction, the keys the compose deployment sets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"

_VARIABLE = re.compile(
    r"\$\$"
    r"|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariable(ValueError):
    """A ``${VAR:?message}`` whose variable is unset or empty: Compose refuses to start."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a Compose ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional quotes."""
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key.strip()] = value
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """Substitute variables with Compose's rules (``:-``, ``-``, ``:?``, ``?``, ``:+``, ``+``, ``$$``)."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return interpolate(arg, env) if empty else value
        if op in (":?", "?"):
            if empty:
                raise MissingVariable(f"{name}: {arg or 'required variable is missing'}")
            return value
        if op in (":+", "+"):
            return "" if empty else interpolate(arg, env)
        return value or ""

    return _VARIABLE.sub(substitute, text)


def interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    return node


def required_variables(path: Path = COMPOSE_FILE) -> list[str]:
    """Variables written ``${VAR:?...}``: the secrets Compose refuses to start without."""
    return sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", path.read_text(encoding="utf-8"))))


def raw_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file with YAML anchors and ``<<`` merge keys resolved, variables left as written."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_compose(env: dict[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The model Compose runs: merge keys resolved and every variable interpolated from ``env``."""
    return interpolate_tree(raw_compose(path), env)


def airflow_common_environment(compose: dict[str, Any]) -> dict[str, str]:
    """The environment every Airflow component shares (``x-airflow-common``), values as strings."""
    return {key: "" if value is None else str(value) for key, value in compose["x-airflow-common"]["environment"].items()}
