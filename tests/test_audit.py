"""scripts/audit.py (`make audit`): findings printed, and an unchecked lock never passes for a clean one."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def test_findings_are_listed_with_their_fix_and_exit_1():
    result = {"dependencies": [
        {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}]},
        {"name": "httpx", "version": "0.28.1", "vulns": []}]}
    lines, code = audit.report(result, "pypi")
    assert code == 1
    assert "2 pinned packages, 2 checked, 0 not checked" in lines[0]
    assert any("jinja2" in line and "GHSA-h5c8-rqwp-cp95" in line and "3.1.3" in line for line in lines)


def test_a_clean_lock_exits_0():
    lines, code = audit.report({"dependencies": [{"name": "httpx", "version": "0.28.1", "vulns": []}]}, "pypi")
    assert code == 0 and lines[-1] == "no known vulnerabilities in the 1 packages checked"


def test_pins_the_service_does_not_know_are_named_with_the_cause_and_exit_2():
    result = {"dependencies": [
        {"name": "a2wsgi", "skip_reason": "Dependency not found on PyPI and could not be audited: a2wsgi (1.10.10)"},
        {"name": "httpx", "version": "0.28.1", "vulns": []}]}
    lines, code = audit.report(result, "pypi")
    text = "\n".join(lines)
    assert code == 2
    assert "NOT CHECKED (1): Dependency not found on PyPI" in text and "a2wsgi" in text
    assert "not a clean result" in text


def test_an_unreachable_service_is_named_not_a_traceback():
    tail = ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443): Max retries "
            "exceeded with url: /v1/query (Caused by NameResolutionError(\"HTTPSConnection(host='api.osv.dev', "
            "port=443): Failed to resolve 'api.osv.dev' ([Errno -2] Name or service not known)\"))")
    assert audit.failure_cause("Traceback (most recent call last):\n  ...\n" + tail) == \
        "cannot resolve api.osv.dev (no DNS / no network access to it)"
