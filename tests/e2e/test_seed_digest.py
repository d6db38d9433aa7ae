"""The seed digest end to end: the real DAGs, a real SMTP server on loopback, the received mail parsed."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from newsbrief.tagging import load_taxonomy
from newsbrief.text.sentences import segment
from tests.conftest import SEED
from tests.e2e.conftest import run_dag

pytestmark = pytest.mark.e2e

SUBSCRIBERS = """\
subscribers:
  - email: desk@example.org
    name: Policy desk
    topics: [ceasefire, humanitarian]
  - email: trade@example.org
    topics: [tariffs]
  - email: sport@example.org
    topics: [sport]
"""
HEADINGS = [b.text for b in segment(SEED.read_text()) if b.kind == "heading"]


def labels(project) -> dict:
    return {t.id: t.label for t in load_taxonomy(project / "config" / "topics.yaml").topics}


def summary_lines(text_part: str) -> list[str]:
    return [line[4:] for line in text_part.splitlines() if line.startswith("  - ")]


def check_digest(msg, project, *, sentences: int, failed: list[str] = ()):
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    title = "U.S. President Donald Trump held a lengthy conversation with Russian President Vladimir Putin"
    assert title in text and title in html
    assert msg["Subject"].startswith("newsbrief: 1 story")
    summary = summary_lines(text)
    assert len(summary) == sentences, text
    for sentence in summary:
        assert sentence in SEED.read_text(), f"not quoted from the article: {sentence}"
        assert not any(h in sentence for h in HEADINGS), f"a heading got into the summary: {sentence}"
    assert len(re.findall(r"<li>", html.split('class="summary"')[1].split("</ul>")[0])) == sentences
    names = labels(project)
    for tag in ("ceasefire", "humanitarian", "tariffs"):
        assert names[tag] in text and names[tag] in html.replace("&amp;", "&")
    shown = [line.split("Tags: ", 1)[1].split(", ") for line in text.splitlines() if "Tags: " in line]
    assert shown, text
    for tag in ("elections", "energy", "sport"):
        assert names[tag] not in shown[0]
    for name in failed:
        assert name in text and name in html
    return text


def test_seed_digest_over_smtp_then_nothing_twice(dag_env, project, smtp_server):
    (project / "config" / "subscribers.yaml").write_text(SUBSCRIBERS)
    (project / "seeds" / "empty.txt").write_bytes(b"")
    env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.conn_json())

    first = run_dag(env, "seed_digest", conf={"sentences": 2})
    assert first.returncode == 0, first.stdout[-5000:]
    got = smtp_server.received.messages
    assert sorted(m["X-Envelope-To"] for m in got) == ["desk@example.org", "trade@example.org"]
    for msg in got:
        check_digest(msg, project, sentences=2, failed=["empty.txt", "the file is empty"])
    assert len({m["Message-ID"] for m in got}) == 2

    again = run_dag(env, "seed_digest", conf={"sentences": 2})
    assert again.returncode == 0, again.stdout[-5000:]
    assert "already processed" in again.stdout
    assert len(smtp_server.received.messages) == 2, "the same seed was sent twice"

    forced = run_dag(env, "seed_digest", conf={"force": True, "recipients": ["desk@example.org", "new@example.org"]})
    assert forced.returncode == 0, forced.stdout[-5000:]
    assert [m["X-Envelope-To"] for m in smtp_server.received.messages[2:]] == ["new@example.org"], \
        "force sent desk@ a second copy"
    check_digest(smtp_server.received.messages[2], project, sentences=3, failed=["empty.txt"])


def test_seed_digest_into_the_outbox_without_a_mail_server(dag_env, project):
    proc = run_dag(dag_env, "seed_digest", conf={"algorithm": "lexrank"})
    assert proc.returncode == 0, proc.stdout[-5000:]
    emls = sorted((project / "outbox").rglob("*.eml"))
    assert {p.name for p in emls} >= {"policy-desk@example.org.eml", "trade-desk@example.org.eml"}
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    check_digest(msg, project, sentences=3)
    assert all(p.with_name(p.stem + ".html").exists() for p in emls)
    assert f"digests written to {emls[0].parent}" in proc.stdout


def test_dry_run_previews_and_sends_nothing(dag_env, project, smtp_server):
    env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.conn_json())
    proc = run_dag(env, "seed_digest", conf={"dry_run": True})
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert smtp_server.received.messages == []
    assert list((project / "outbox" / "dry-run").rglob("*.eml"))
    real = run_dag(env, "seed_digest", conf={})
    assert real.returncode == 0, real.stdout[-5000:]
    assert len(smtp_server.received.messages) >= 2, "a dry run must not use up the seed"


def test_daily_digest_for_a_data_interval(dag_env, project, smtp_server):
    (project / "config" / "subscribers.yaml").write_text(SUBSCRIBERS)
    env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.conn_json())
    proc = run_dag(env, "daily_digest", logical_date="2025-06-05T07:00:00+00:00")
    assert proc.returncode == 0, proc.stdout[-5000:]
    got = smtp_server.received.messages
    assert sorted(m["X-Envelope-To"] for m in got) == ["desk@example.org", "trade@example.org"]
    check_digest(got[0], project, sentences=3)
    rerun = run_dag(env, "daily_digest", logical_date="2025-06-05T07:00:00+00:00")
    assert rerun.returncode == 0, rerun.stdout[-5000:]
    assert len(smtp_server.received.messages) == 2
