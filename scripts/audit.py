"""`make audit`: pip-audit over the runtime lock (requirements.lock, what the image installs), its findings
printed as a table, and a plain statement of what could not be checked and why.

pip-audit reports "No known vulnerabilities found" even when it could look up none of the pins (a
version the vulnerability service does not know, a service it cannot reach); this wrapper says so and
exits 2 instead, so an unchecked lock never passes for a clean one. Exit codes: 0 all pins checked and
clean, 1 vulnerabilities found, 2 some or all pins not checked (the cause is printed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
SERVICES = {"pypi": "PyPI's JSON API (pypi.org)", "osv": "the OSV database (api.osv.dev)"}


def run_pip_audit(service: str) -> tuple[int, str, str]:
    cmd = [sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--no-deps", "--disable-pip", "--format", "json",
           "--progress-spinner", "off", "--vulnerability-service", service, "--timeout", "30"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def failure_cause(stderr: str) -> str:
    """The last line of a pip-audit traceback, shortened to what a person can act on."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    if m := re.search(r"Failed to resolve '([^']+)'", last):
        return f"cannot resolve {m.group(1)} (no DNS / no network access to it)"
    if m := re.search(r"host='([^']+)'.*?(Connection refused|timed out|Max retries exceeded)", last):
        return f"cannot connect to {m.group(1)} ({m.group(2).lower()})"
    return last[:300]


def report(result: dict, service: str) -> tuple[list[str], int]:
    """Lines to print and the exit code for pip-audit's JSON result."""
    deps = result.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    checked = len(deps) - len(skipped)
    lines = [f"pip-audit over {LOCK.name} via {SERVICES.get(service, service)}: {len(deps)} pinned packages, "
             f"{checked} checked, {len(skipped)} not checked"]
    if vulnerable:
        lines.append(f"{'package':<28} {'version':<12} {'advisory':<22} fixed in")
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                lines.append(f"{dep['name']:<28} {dep.get('version', ''):<12} {vuln['id']:<22} "
                             f"{', '.join(vuln.get('fix_versions') or []) or '(no fix yet)'}")
        lines.append(f"{sum(len(d['vulns']) for d in vulnerable)} known vulnerabilities in {len(vulnerable)} "
                     "packages (fix: raise the pin in pyproject.toml, install, `make lock`)")
    elif checked:
        lines.append(f"no known vulnerabilities in the {checked} packages checked")
    if skipped:
        causes = Counter(re.sub(r": \S+ \([^)]*\)$", "", d["skip_reason"]) for d in skipped)
        for cause, n in causes.most_common():
            lines.append(f"NOT CHECKED ({n}): {cause}")
        if any("not found on PyPI" in c for c in causes):
            lines.append(f"cause: {SERVICES.get(service, service)} has no record of these pinned versions (a "
                         "local package index with builds pypi.org does not list?), so nothing is known about "
                         "them: this is not a clean result (fix: audit where the pins are PyPI releases, or try "
                         "`make audit AUDIT_SERVICE=osv` where api.osv.dev is reachable)")
        lines.append("not checked: " + ", ".join(f"{d['name']}" for d in skipped[:20])
                     + (f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""))
    code = 1 if vulnerable else 2 if skipped or not deps else 0
    return lines, code


def main(argv: list[str]) -> int:
    service = argv[0] if argv else "pypi"
    try:
        import pip_audit  # noqa: F401
    except ImportError:
        print("make audit: pip-audit is not installed in .venv (fix: `make install`; it is in the dev extra)")
        return 2
    code, out, err = run_pip_audit(service)
    try:
        result = json.loads(out)
    except json.JSONDecodeError:
        print(f"make audit: pip-audit could not query {SERVICES.get(service, service)}: {failure_cause(err)} "
              "(nothing was checked; fix: allow network access to it, or choose the other service with "
              f"`make audit AUDIT_SERVICE={'osv' if service == 'pypi' else 'pypi'}`)")
        return 2
    lines, status = report(result, service)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
