"""The two locks: the image installs the runtime one, `make install` the dev one; they must agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, version = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", line.strip()).groups()
            pins[canonicalize_name(package)] = version
    return pins


def test_every_runtime_pin_is_the_same_in_the_dev_lock():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert runtime, "requirements.lock is empty"
    disagree = {name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version}
    assert disagree == {}, f"pins that differ between the locks (run `make lock`): {disagree}"


def test_the_runtime_lock_carries_no_dev_tool_and_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pins("requirements.lock")
    tools = {canonicalize_name(re.split(r"[=<>!~\[ ]", d, maxsplit=1)[0]) for d in project["optional-dependencies"]["dev"]}
    assert tools & set(runtime) == set(), "dev tools in the runtime lock: move them to requirements-dev.lock"
    assert tools <= set(_pins("requirements-dev.lock"))
    direct = {canonicalize_name(re.split(r"[=<>!~\[ ]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    assert direct <= set(runtime), f"runtime dependencies without a pin: {sorted(direct - set(runtime))}"
