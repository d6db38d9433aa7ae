"""The feed ingestion stage: fetch feeds concurrently, parse, fill in full text, store new articles.

Network work (feed fetch, page fetch and extraction) runs in a bounded thread pool; feedparser runs in
worker processes started when a feed needs parsing (`sources.parse_pool`: it holds the GIL, so threads
would take turns).
All writes happen on the calling thread, one transaction for each few feeds that are ready (up to
`STORE_BATCH`), so a crash mid-run keeps what was stored and SQLite never sees competing writers. An entry
stored by an earlier run (by URL) is recognised before its page is fetched, so an hourly run costs one
conditional GET per feed and nothing more when nothing changed; copies within a run all reach the store,
which keeps the best one whatever their order. Clustering the new articles is the next stage (`stories.stage`).

No feed can fail the run: each failure is stored on the feed (back-off: 30 min doubling to 24 h, or
the server's Retry-After) and as a Problem of the run, which the digest footer lists. A feed waiting
out its back-off is listed too, so a feed that keeps failing never goes quiet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from newsbrief.errors import InputError
from newsbrief.sources.extract import TEASER_MAX_WORDS, extract_main_text, is_teaser, word_count
from newsbrief.sources.feeds import FeedConfig, FeedEntry
from newsbrief.sources.fetch import FetchError, FetchLimits, GuardedClient
from newsbrief.sources.parse_pool import ParserPool
from newsbrief.sources.seeds import content_hash
from newsbrief.sources.urls import match_keys
from newsbrief.store import Article, Feed, Store
from newsbrief.store import feeds as feed_store
from newsbrief.store.problems import add_problem

log = logging.getLogger(__name__)

STAGE = "feed"
PAGE_MAX_BYTES = 3 * 1024 * 1024
_HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
STORE_BATCH = 25
STORE_EVERY_SECONDS = 2.0
_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass
class FeedOutcome:
    url: str
    name: str
    status: str  # ok | not_modified | failed | backoff | disabled
    entries: int = 0
    new: int = 0
    duplicates: int = 0
    pages_fetched: int = 0
    extraction_failed: int = 0
    reason: str | None = None
    bozo: str | None = None


@dataclass
class IngestReport:
    run_key: str
    outcomes: list[FeedOutcome] = field(default_factory=list)
    new_article_ids: list[int] = field(default_factory=list)
    elapsed: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "backoff")]

    @property
    def duplicates(self) -> int:
        return sum(o.duplicates for o in self.outcomes)

    def describe(self) -> str:
        """One line a user can read: what was fetched, what was new, and why nothing was when nothing was."""
        fetched = self.count("ok") + self.count("not_modified")
        text = (f"{len(self.outcomes)} feeds: {fetched} fetched ({self.count('not_modified')} unchanged since the "
                f"last run), {self.count('failed')} failed, {self.count('backoff')} waiting out a back-off; "
                f"{len(self.new_article_ids)} new articles, {self.duplicates} already stored; {self.elapsed:.1f} s")
        if not self.new_article_ids and self.outcomes:
            text += (" - nothing new: every entry was already stored or every feed was unchanged/failing"
                     if fetched else " - nothing new: no feed could be fetched")
        return text

    def as_dict(self) -> dict:
        return {"run_key": self.run_key, "new_article_ids": self.new_article_ids,
                "feeds": len(self.outcomes), "ok": self.count("ok"), "not_modified": self.count("not_modified"),
                "failed": self.count("failed"), "backoff": self.count("backoff"), "duplicates": self.duplicates,
                "problems": [f"{o.name} ({o.url}): {o.reason}" for o in self.failed], "summary": self.describe()}


@dataclass
class _Candidate:
    entry: FeedEntry
    text: str
    extraction: str
    flags: list[str]
    author: str | None
    published_at: datetime | None
    language: str | None


@dataclass
class _Collected:
    outcome: FeedOutcome
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    unparseable: bool = False
    unchanged: bool = False
    candidates: list[_Candidate] = field(default_factory=list)


def ingest_feeds(store: Store, feeds: Sequence[FeedConfig], run_key: str, *, max_workers: int = 8,
                 allow: Iterable[str] = (), limits: FetchLimits | None = None, now: datetime | None = None,
                 teaser_words: int = TEASER_MAX_WORDS, client: GuardedClient | None = None,
                 parse_workers: int | None = None) -> IngestReport:
    """Ingest `feeds` for run `run_key`; never raises for a bad feed (see the report and the run's Problems).
    Clustering is the next stage's (`stories.stage.cluster_articles` over `new_article_ids`).

    `max_workers` fetches run at once; `parse_workers` feedparser processes at most (default:
    NEWSBRIEF_PARSE_WORKERS, one per core; 0 parses in-process)."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    report = IngestReport(run_key=run_key)
    with store.session() as s:
        states = feed_store.sync_feeds(s, [(f.url, f.name) for f in feeds])
    due: list[FeedConfig] = []
    for cfg in feeds:
        state = states[cfg.url]
        if not cfg.enabled:
            report.outcomes.append(FeedOutcome(cfg.url, cfg.name, "disabled"))
        elif state.next_attempt_at is not None and state.next_attempt_at > now:
            times = "once" if state.consecutive_failures == 1 else f"{state.consecutive_failures} times in a row"
            reason = (f"not fetched this run: it failed {times} (last error: {state.last_error}); "
                      f"next attempt after {state.next_attempt_at:%Y-%m-%d %H:%M} UTC")
            report.outcomes.append(FeedOutcome(cfg.url, cfg.name, "backoff", reason=reason))
            with store.session() as s:
                add_problem(s, run_key, STAGE, f"{cfg.name} <{cfg.url}>", reason)
        else:
            due.append(cfg)
    own_client = client is None
    client = client or GuardedClient(limits, allow=allow, max_connections=max(max_workers * 2, 10))
    try:
        with ParserPool(parse_workers, most=len(due)) as parser, \
                ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="ingest") as pool:
            futures = {pool.submit(_collect, store, client, cfg, states[cfg.url], teaser_words, parser, run_key): cfg
                       for cfg in due}
            ready: list[tuple[FeedConfig, _Collected]] = []
            written = time.monotonic()
            for future in as_completed(futures):
                cfg = futures[future]
                try:
                    collected = future.result()
                except Exception as exc:  # noqa: BLE001 - a bug on one feed's data must not cost the others
                    log.exception("feed %s: unexpected error", cfg.url)
                    collected = _Collected(FeedOutcome(cfg.url, cfg.name, "failed",
                                                       reason=f"internal error: {type(exc).__name__}: {exc}"))
                ready.append((cfg, collected))
                if len(ready) >= STORE_BATCH or time.monotonic() - written > STORE_EVERY_SECONDS:
                    _store_feeds(store, states, ready, run_key, now, report)
                    ready, written = [], time.monotonic()
            _store_feeds(store, states, ready, run_key, now, report)
    finally:
        if own_client:
            client.close()
    report.elapsed = time.monotonic() - started
    log.info("ingest %s: %s", run_key, report.describe())
    return report


def _collect(store: Store, client: GuardedClient, cfg: FeedConfig, state, teaser_words: int,
             parser: ParserPool, run_key: str) -> _Collected:
    """Network and parsing work for one feed (worker thread): no writes here.

    Entries stored by earlier runs are skipped before any page fetch; one stored by this run is not, whether
    another worker stored it yet being a matter of timing: the store keeps the better copy (`copy_rank`)."""
    outcome = FeedOutcome(cfg.url, cfg.name, "ok")
    collected = _Collected(outcome)
    try:
        result = client.get(cfg.url, etag=state.etag, last_modified=state.last_modified, accept=_FEED_ACCEPT,
                            max_bytes=cfg.max_bytes, total_timeout=cfg.timeout)
    except FetchError as exc:
        outcome.status, outcome.reason, collected.retry_after = "failed", _reason(exc), exc.retry_after
        return collected
    collected.etag, collected.last_modified = result.etag, result.last_modified
    if result.not_modified and state.last_status == feed_store.UNPARSEABLE:
        collected.etag, collected.last_modified = state.etag, state.last_modified
        outcome.status, outcome.reason = "failed", state.last_error or "the feed could not be parsed"
        collected.unparseable = collected.unchanged = True
        return collected
    if result.not_modified:
        outcome.status = "not_modified"
        return collected
    try:
        parsed = parser.parse(result.body, url=result.final_url, headers=result.headers, language=cfg.language,
                            max_entries=cfg.max_entries)
    except InputError as exc:
        outcome.status, outcome.reason = "failed", _reason(exc)
        collected.unparseable = True
        return collected
    outcome.entries, outcome.bozo = len(parsed.entries), parsed.bozo
    with store.session() as s:
        known = feed_store.known_urls(s, [k for e in parsed.entries for k in match_keys(e.url)], before_run=run_key)
    seen: set[str] = set()
    for entry in parsed.entries:
        keys = match_keys(entry.url)
        if (keys and any(k in known for k in keys)) or (entry.url and entry.url in seen):
            outcome.duplicates += 1
            continue
        if entry.url:
            seen.add(entry.url)
        candidate = _full_text(client, cfg, entry, teaser_words, outcome)
        if candidate is None:
            continue
        if parsed.bozo:
            candidate.flags.append("bozo_feed")
        collected.candidates.append(candidate)
    return collected


def _full_text(client: GuardedClient, cfg: FeedConfig, entry: FeedEntry, teaser_words: int,
               outcome: FeedOutcome) -> _Candidate | None:
    feed_text = entry.text
    candidate = _Candidate(entry, feed_text, "full", [], entry.author, entry.published_at, entry.language)
    if not is_teaser(feed_text, max_words=teaser_words):
        return candidate
    candidate.extraction = "feed_text"
    if not cfg.fetch_pages or not entry.url:
        candidate.flags.append("teaser")
        return _title_only(candidate)
    outcome.pages_fetched += 1
    why = None
    try:
        page = client.get(entry.url, accept=_HTML_ACCEPT, max_bytes=PAGE_MAX_BYTES)
        extracted = extract_main_text(page.body, url=page.final_url, content_type=page.content_type)
        if extracted is None:
            why = "no main text found on the page"
        elif word_count(extracted.text) <= word_count(feed_text):
            why = "the page text is no longer than the feed's"
        else:
            candidate.text, candidate.extraction = extracted.text, "full"
            candidate.author = candidate.author or extracted.author
            candidate.published_at = candidate.published_at or extracted.published_at
            candidate.language = candidate.language or extracted.language
            return candidate
    except FetchError as exc:
        why = exc.reason
    outcome.extraction_failed += 1
    log.info("page %s: keeping the feed text (%s)", entry.url, why)
    candidate.flags.append("extraction_failed")
    return _title_only(candidate)


def _title_only(candidate: _Candidate) -> _Candidate:
    """An entry with no text at all keeps its headline as text (flagged), so it is listed, never dropped."""
    if not candidate.text.strip():
        candidate.text = candidate.entry.title
        candidate.flags.append("title_only")
    return candidate


def _store_feeds(store: Store, states: dict, ready: list[tuple[FeedConfig, _Collected]], run_key: str,
                 now: datetime, report: IngestReport) -> None:
    """Write the results of the feeds in `ready` in one transaction (their fetch state, problems and new
    articles, each feed as before), then add their outcomes to the report."""
    if not ready:
        return
    with store.session() as s:
        # One query loads the feed rows; the session's identity map (weak: hence the name) serves each feed's get.
        loaded = s.execute(select(Feed).where(Feed.id.in_([states[cfg.url].id for cfg, _ in ready]))).scalars().all()
        items: list[tuple[Article, list[str]]] = []
        owners: list[FeedOutcome] = []
        for cfg, collected in ready:
            new = _store_feed(s, cfg, states[cfg.url].id, collected, run_key, now)
            items.extend(new)
            owners.extend([collected.outcome] * len(new))
        # One insert for the batch's feeds, in feed order: the same ids and kept copies as one call per feed.
        for outcome, (stored, created) in zip(owners, feed_store.insert_articles(s, items) if items else (),
                                              strict=True):
            if created:
                outcome.new += 1
                report.new_article_ids.append(stored.id)
            else:
                outcome.duplicates += 1
        del loaded
    report.outcomes.extend(collected.outcome for _, collected in ready)


def _store_feed(s, cfg: FeedConfig, feed_id: int, collected: _Collected, run_key: str,
                now: datetime) -> list[tuple[Article, list[str]]]:
    """Record one feed's fetch (state, problem); return its new articles with their URL keys, to insert."""
    outcome = collected.outcome
    if outcome.status == "failed":
        next_at = feed_store.record_fetch_failure(
            s, feed_id, now, status=feed_store.UNPARSEABLE if collected.unparseable else "failed",
            reason=outcome.reason, retry_after=collected.retry_after,
            validators=(collected.etag, collected.last_modified) if collected.unparseable else None)
        unchanged = " (the server says it is unchanged since then)" if collected.unchanged else ""
        add_problem(s, run_key, STAGE, f"{cfg.name} <{cfg.url}>",
                    f"{outcome.reason}{unchanged}; next attempt after {next_at:%Y-%m-%d %H:%M} UTC")
        log.warning("feed %s (%s) failed: %s", cfg.name, cfg.url, outcome.reason)
        return []
    note = f"ill-formed but used: {outcome.bozo}" if outcome.bozo else None
    feed_store.record_fetch_success(s, feed_id, now, status=outcome.status, etag=collected.etag,
                                    last_modified=collected.last_modified, note=note)
    # Write time, not run start: a digest that selects by ingestion time must not miss late commits.
    stored_at = datetime.now(UTC)
    items = []
    for c in collected.candidates:
        entry = c.entry
        article = Article(
            content_hash=content_hash(entry.title, c.text), url=entry.url, source_kind="feed", source=cfg.name,
            origin=cfg.url, feed_id=feed_id, title=entry.title[:2000], author=(c.author or None),
            language=cfg.language or c.language, published_at=c.published_at, ingested_at=stored_at, text=c.text,
            feed_summary=entry.summary or None, extraction=c.extraction, flags=c.flags,
            topics_hint=list(cfg.topics), run_key=run_key,
        )
        items.append((article, match_keys(entry.url)))
    return items


def plan_batches(urls: Sequence[str], *, per_batch: int = 50, max_batches: int = 8) -> list[list[str]]:
    """Split feeds into a few batches (round robin, so slow hosts spread out): one mapped task each, not one per feed.

    Always at least one batch, possibly empty, so the downstream steps run and say that nothing was configured.
    """
    count = max(1, min(max_batches, -(-len(urls) // max(per_batch, 1))))
    return [list(urls[i::count]) for i in range(count)]


def _reason(exc: InputError) -> str:
    return f"{exc.reason} (fix: {exc.fix})" if exc.fix else exc.reason
