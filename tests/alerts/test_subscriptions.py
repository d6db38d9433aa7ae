"""`newsbrief alerts add|remove|list` over a real store: CLI-added alerts live in the store, beside the
declared ones, survive a restart (a new process opening the same store), and reach the alerts run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from newsbrief.alerts.subscriptions import active_alerts, remove_alert
from newsbrief.cli import main
from newsbrief.config.subscribers import load_subscribers
from newsbrief.digest.preferences import unsubscribe
from newsbrief.store.engine import open_store
from tests.conftest import ROOT

YAML = """\
subscribers:
  - email: trade@example.org
    alerts:
      - id: steel
        query: 'tariff steel'
  - email: other@example.org
"""


def _setup(project, monkeypatch):
    (project / "config" / "subscribers.yaml").write_text(YAML)
    url = f"sqlite:///{project / 'store.db'}"
    monkeypatch.setenv("NEWSBRIEF_STORE_URL", url)
    return url


def _list(capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["alerts", "list"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_added_alerts_are_listed_with_the_declared_ones_and_survive_a_restart(project, monkeypatch, capsys):
    url = _setup(project, monkeypatch)
    assert main(["alerts", "add", "Trade@example.org", "sanctions-weekly", "--topic", "sanctions", "--frequency",
                 "weekly", "--day", "friday", "--hour", "9", "--quality", "best"]) == 0
    assert main(["alerts", "add", "other@example.org", "wheat", "--query", '"wheat harvest" -rice',
                 "--quiet-hours", "22:00-07:00", "--timezone", "Europe/Paris"]) == 0
    rows = _list(capsys)
    assert [(r["email"], r["id"], r["defined_in"]) for r in rows] == [
        ("trade@example.org", "steel", "subscribers.yaml:4"),
        ("trade@example.org", "sanctions-weekly", "store"),
        ("other@example.org", "wheat", "store")]
    assert rows[1]["frequency"] == "weekly" and rows[1]["day"] == "friday" and rows[1]["quality"] == "best"
    assert rows[2]["query"] == '"wheat harvest" -rice' and rows[2]["quiet_hours"] == "22:00-07:00"

    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(ROOT / "plugins")
    proc = subprocess.run([sys.executable, "-m", "newsbrief.cli", "alerts", "list"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == rows

    subscribers = load_subscribers(project / "config" / "subscribers.yaml")
    alerts = {a.alert.key: a.alert for a in active_alerts(open_store(url), subscribers)}
    assert alerts["other@example.org/wheat"].quiet_hours is not None
    assert str(alerts["other@example.org/wheat"].query) == '"wheat harvest" -rice'


def test_remove_turns_off_a_declared_or_added_alert_and_add_brings_it_back(project, monkeypatch, capsys):
    _setup(project, monkeypatch)
    assert main(["alerts", "add", "other@example.org", "wheat", "--query", "wheat"]) == 0
    assert main(["alerts", "remove", "trade@example.org", "steel"]) == 0
    assert "still declares it" in capsys.readouterr().err
    assert main(["alerts", "remove", "other@example.org", "wheat"]) == 0
    assert _list(capsys) == []
    assert main(["alerts", "remove", "other@example.org", "wheat"]) == 0  # idempotent
    assert main(["alerts", "add", "trade@example.org", "steel", "--query", "steel OR iron"]) == 0
    (row,) = _list(capsys)
    assert (row["id"], row["query"], row["defined_in"]) == ("steel", "steel OR iron", "store")


def test_add_refuses_bad_input_with_the_fix_and_stores_nothing(project, monkeypatch, capsys):
    _setup(project, monkeypatch)
    cases = [
        (["nobody@example.org", "x", "--query", "steel"], "not a subscriber"),
        (["trade@example.org", "steel", "--query", "iron"], "already has an alert 'steel'"),
        (["trade@example.org", "x", "--query", "tariff OR"], "at position 9 expected a search term"),
        (["trade@example.org", "x", "--topic", "astrology"], "unknown topic 'astrology'"),
        (["trade@example.org", "x"], "give a 'query:' or 'topics:'"),
        (["trade@example.org", "a.b", "--query", "steel"], "the id must be letters"),
        (["trade@example.org", "x", "--query", "steel", "--quiet-hours", "late"], "quiet_hours must look like"),
        (["trade@example.org", "x", "--query", "steel", "--timezone", "Mars/Base"], "unknown timezone"),
    ]
    for argv, message in cases:
        capsys.readouterr()
        assert main(["alerts", "add", *argv]) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert main(["alerts", "remove", "trade@example.org", "nope"]) == 2
    assert [r["id"] for r in _list(capsys)] == ["steel"]


def test_unsubscribed_readers_get_no_alerts_and_a_one_alert_removal_keeps_the_rest(project, monkeypatch):
    url = _setup(project, monkeypatch)
    store = open_store(url)
    subscribers = load_subscribers(project / "config" / "subscribers.yaml")
    assert main(["alerts", "add", "trade@example.org", "wheat", "--query", "wheat"]) == 0
    remove_alert(store, subscribers, "trade@example.org", "steel", at=datetime(2026, 12, 2, tzinfo=UTC))
    assert [a.alert.id for a in active_alerts(store, subscribers)] == ["wheat"]
    unsubscribe(store, "trade@example.org")
    assert active_alerts(store, subscribers) == []


def test_a_stored_alert_the_taxonomy_no_longer_accepts_is_skipped_with_the_reason(project, monkeypatch, caplog):
    url = _setup(project, monkeypatch)
    assert main(["alerts", "add", "other@example.org", "duties", "--topic", "tariffs"]) == 0
    subscribers = load_subscribers(project / "config" / "subscribers.yaml")
    store = open_store(url)
    assert [a.alert.id for a in active_alerts(store, subscribers, known_topics={"tariffs"})] == ["steel", "duties"]
    assert [a.alert.id for a in active_alerts(store, subscribers, known_topics={"sanctions"})] == ["steel"]
    assert "alert_subscriptions row other@example.org/duties" in caplog.text and "unknown topic 'tariffs'" in caplog.text
