"""Alerts over a real store: config validation, indexed matching, the exactly-once ledger, periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsbrief.alerts import ledger
from newsbrief.alerts.matching import AlertIndex, Candidate, candidates_from_store
from newsbrief.alerts.query import Document, matches
from newsbrief.config.subscribers import load_subscribers
from newsbrief.errors import ConfigError
from newsbrief.store.engine import open_store
from newsbrief.store.schema import AlertItem, Article, Tag

YAML = """\
subscribers:
  - email: trade@example.org
    alerts:
      - id: steel
        query: 'tariff steel -soybean'
        frequency: as_it_happens
        quiet_hours: "22:00-07:00"
        timezone: Europe/London
      - id: weekly-sanctions
        topics: [sanctions]
        frequency: weekly
        day: friday
        hour: 9
        quality: best
"""


def _write(tmp_path, text):
    path = tmp_path / "subscribers.yaml"
    path.write_text(text)
    return path


def test_alerts_are_read_from_subscribers_yaml(tmp_path):
    (sub,) = load_subscribers(_write(tmp_path, YAML), known_topics={"sanctions", "tariffs"})
    assert sub.digest_repeats_alerts is None
    (again,) = load_subscribers(_write(tmp_path, YAML.replace("    alerts:", "    digest_repeats_alerts: true\n    alerts:")))
    assert again.digest_repeats_alerts is True
    steel, weekly = sub.alerts
    assert steel.key == "trade@example.org/steel" and steel.frequency == "as_it_happens"
    assert steel.min_interval_minutes == 15 and steel.quiet_hours is not None
    assert weekly.topics == ("sanctions",) and weekly.day == "friday" and weekly.quality == "best"


@pytest.mark.parametrize(("bad", "message"), [
    ("query: 'tariff OR'", "at position 9 expected a search term"),
    ("frequency: hourly", "frequency 'hourly' is unknown"),
    ("quiet_hours: 'late'", "quiet_hours must look like"),
    ("timezone: Mars/Base", "unknown timezone"),
])
def test_a_wrong_alert_is_refused_with_file_and_line(tmp_path, bad, message):
    key = bad.split(":")[0]
    lines = YAML.splitlines()
    idx = next(i for i, text in enumerate(lines) if text.strip().startswith(key + ":"))
    lines[idx] = "        " + bad
    with pytest.raises(ConfigError) as err:
        load_subscribers(_write(tmp_path, "\n".join(lines) + "\n"))
    assert err.value.line == idx + 1 and message in str(err.value)


def test_index_finds_the_same_matches_as_trying_every_pair(tmp_path):
    (sub,) = load_subscribers(_write(tmp_path, YAML))
    from newsbrief.alerts.query import parse
    from newsbrief.alerts.spec import Alert

    alerts = list(sub.alerts) + [Alert(id=f"q{i}", email="x@example.org", query=parse(q)) for i, q in enumerate(
        ["-soybean", "steel OR wheat", 'intitle:"trade war"', "source:bbc lang:en", "tag:tariffs -steel"])]
    docs = [
        Candidate(1, Document.of("Tariffs on steel rise", "Duties widen.", source="BBC News", language="en")),
        Candidate(2, Document.of("Trade war: soybean farmers hit", "Tariff on steel.", tags=["tariffs"])),
        Candidate(3, Document.of("Wheat harvest", "Rain.", source="Reuters", tags=["sanctions"]), 13.0),
    ]
    got = AlertIndex(alerts).match(docs)
    naive = {i: [(c.article_id, matches(a.full_query, c.doc)) for c in docs
                 if a.keeps(c.best_tag_score, c.story_size) and matches(a.full_query, c.doc) is not None]
             for i, a in enumerate(alerts)}
    assert {i: v for i, v in got.items() if v} == {i: v for i, v in naive.items() if v}
    assert [aid for aid, _ in got[0]] == [1]  # steel, not the soybean story
    assert [aid for aid, _ in got[1]] == [3]  # weekly sanctions, best quality


@pytest.fixture()
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with s.session() as session:
        for i, title in enumerate(["Tariffs on steel rise", "Wheat harvest", "Steel tariff talks"], start=1):
            session.add(Article(id=i, content_hash=f"h{i}", url=f"http://x/{i}", source_kind="feed", source="BBC",
                                origin="http://x/feed", title=title, text="Body.", language="en", cluster_id=None))
        session.add(Tag(article_id=3, tag="tariffs", label="Tariffs", score=20.0))
        session.commit()
    yield s
    s.dispose()


def test_ledger_sends_each_article_once_per_alert_and_resends_an_unfinished_batch(store):
    key = "trade@example.org/steel"
    with store.session() as s:
        cands = candidates_from_store(s)
        (sub,) = load_subscribers_from_text()
        found = AlertIndex([sub.alerts[0]]).match(cands)[0]
        assert sorted(a for a, _ in found) == [1, 3]
        t0 = datetime(2026, 12, 2, 8, tzinfo=UTC)
        mid, rows = ledger.claim(s, key, "trade@example.org", "run-1", found, now=t0)
        assert len(rows) == 2 and mid == ledger.message_id(key, "run-1")
        # a run overlapping the live one (within its lease) sends nothing
        assert ledger.claim(s, key, "trade@example.org", "run-2", found, now=t0 + timedelta(seconds=30)) == (mid, [])
        # the worker died before sending: once the lease is out, the same batch comes back, nothing new
        later = t0 + ledger.DEFAULT_LEASE + timedelta(seconds=1)
        mid2, rows2 = ledger.claim(s, key, "trade@example.org", "run-2", found, now=later)
        assert mid2 == mid and {r.article_id for r in rows2} == {1, 3}
        assert ledger.claim(s, key, "trade@example.org", "run-3", found, now=later)[1] == []  # now it is held
        ledger.release(s, mid)  # its send failed: the next run may resend at once
        assert len(ledger.claim(s, key, "trade@example.org", "run-3", found, now=later)[1]) == 2
        ledger.mark_sent(s, mid, t0)
        assert ledger.claim(s, key, "trade@example.org", "run-3", found)[1] == []
        assert s.query(AlertItem).count() == 2
        assert ledger.already_alerted(s, "Trade@example.org", [1, 2, 3]) == {1, 3}


def test_digest_may_repeat_alerted_articles_when_asked(store, monkeypatch):
    with store.session() as s:
        ledger.claim(s, "a@example.org/x", "a@example.org", "b", [(2, ["wheat"])])
        assert ledger.already_alerted(s, "a@example.org", [2]) == set()  # claimed, not sent
        ledger.mark_sent(s, ledger.message_id("a@example.org/x", "b"), datetime(2026, 1, 1, tzinfo=UTC))
        assert ledger.already_alerted(s, "a@example.org", [2]) == {2}
        assert ledger.already_alerted(s, "a@example.org", [2], repeats=True) == set()  # the subscriber's setting
        monkeypatch.setenv(ledger.REPEAT_ENV, "1")
        assert ledger.already_alerted(s, "a@example.org", [2]) == set()
        assert ledger.already_alerted(s, "a@example.org", [2], repeats=False) == {2}  # theirs over the default


def test_daily_and_weekly_periods_come_from_the_data_interval(tmp_path):
    (sub,) = load_subscribers(_write(tmp_path, YAML))
    weekly = sub.alerts[1]
    friday_9 = datetime(2026, 12, 4, 9, tzinfo=UTC)
    assert weekly.due_period(friday_9, friday_9.replace(hour=10)) == "2026-W49"
    assert weekly.due_period(friday_9.replace(hour=10), friday_9.replace(hour=11)) is None
    assert weekly.due_period(datetime(2026, 12, 3, 9, tzinfo=UTC), datetime(2026, 12, 3, 10, tzinfo=UTC)) is None
    steel = sub.alerts[0]
    assert steel.in_quiet_hours(datetime(2026, 12, 2, 23, tzinfo=UTC))
    assert not steel.in_quiet_hours(datetime(2026, 12, 2, 12, tzinfo=UTC))


def load_subscribers_from_text():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        return load_subscribers(_write(Path(d), YAML))
