"""Store queries for feed ingestion: feed rows and fetch state, back-off, article dedup, cluster members.

Every writer goes through unique constraints (feeds.url, articles.url, articles.content_hash) inside
a savepoint, so parallel ingestion tasks racing on the same article store it once and both move on.
Which copy of an article is kept does not depend on which worker stored first: a copy arriving in the same
run as the stored one replaces it when it ranks first (`copy_rank`); a later run's copy never does, since
the stages after ingestion may have used the stored one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsbrief.store.schema import Article, Cluster, Feed

BACKOFF_BASE = timedelta(minutes=30)
BACKOFF_MAX = timedelta(hours=24)


@dataclass(frozen=True)
class FeedState:
    id: int
    url: str
    name: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status: str | None = None


UNPARSEABLE = "unparseable"
"""`feeds.last_status` of a feed whose last body was fetched but refused by the parser; its validators are
that body's, so a 304 says the same refusal still holds without parsing it again."""


def _state(feed: Feed) -> FeedState:
    return FeedState(feed.id, feed.url, feed.name, feed.etag, feed.last_modified, feed.consecutive_failures or 0,
                     feed.next_attempt_at, feed.last_error, feed.last_status)


def sync_feeds(session: Session, declared: Iterable[tuple[str, str]]) -> dict[str, FeedState]:
    """Feed rows for the declared (url, name) pairs, created or renamed as needed; keyed by URL."""
    declared = list(declared)
    urls = [url for url, _ in declared]
    rows = {f.url: f for f in session.execute(select(Feed).where(Feed.url.in_(urls))).scalars()} if urls else {}
    for url, name in declared:
        feed = rows.get(url)
        if feed is None:
            try:
                with session.begin_nested():
                    feed = Feed(url=url, name=name, consecutive_failures=0)
                    session.add(feed)
            except IntegrityError:
                feed = session.execute(select(Feed).where(Feed.url == url)).scalar_one()
            rows[url] = feed
        elif feed.name != name:
            feed.name = name
    session.flush()
    return {url: _state(feed) for url, feed in rows.items()}


def feed_states(session: Session, feed_ids: Iterable[int] | None = None) -> list[FeedState]:
    query = select(Feed).order_by(Feed.id)
    if feed_ids is not None:
        query = query.where(Feed.id.in_(list(feed_ids)))
    return [_state(f) for f in session.execute(query).scalars()]


def backoff_delay(failures: int, retry_after: float | None = None) -> timedelta:
    """30 min, 1 h, 2 h ... capped at 24 h; a server's Retry-After wins when it asks for longer."""
    delay = min(BACKOFF_BASE * (2 ** max(failures - 1, 0)), BACKOFF_MAX)
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), BACKOFF_MAX))
    return delay


def record_fetch_success(session: Session, feed_id: int, now: datetime, *, status: str,
                         etag: str | None, last_modified: str | None, note: str | None = None) -> None:
    feed = session.get(Feed, feed_id)
    feed.last_status = status
    feed.last_error = note
    feed.consecutive_failures = 0
    feed.next_attempt_at = None
    feed.last_fetched_at = now
    feed.last_success_at = now
    if status != "not_modified":
        feed.etag = etag
        feed.last_modified = last_modified


def record_fetch_failure(session: Session, feed_id: int, now: datetime, *, status: str, reason: str,
                         retry_after: float | None = None,
                         validators: tuple[str | None, str | None] | None = None) -> datetime:
    """Count the failure and schedule the next attempt with exponential back-off; returns that time.

    `validators` (etag, last_modified) of a body the parser refused (status `UNPARSEABLE`) are kept, so an
    unchanged broken feed costs a 304 next time. Any other failure after such a refusal drops them: a later
    304 must not vouch for a body that was never parsed."""
    feed = session.get(Feed, feed_id)
    if status == UNPARSEABLE and validators is not None:
        feed.etag, feed.last_modified = validators
    elif feed.last_status == UNPARSEABLE:
        feed.etag = feed.last_modified = None
    feed.consecutive_failures = (feed.consecutive_failures or 0) + 1
    feed.last_status = status
    feed.last_error = reason
    feed.last_fetched_at = now
    feed.next_attempt_at = now + backoff_delay(feed.consecutive_failures, retry_after)
    return feed.next_attempt_at


def known_urls(session: Session, urls: Iterable[str], *, before_run: str | None = None) -> set[str]:
    """Which of these stored-URL spellings already exist (callers pass every spelling from match_keys).

    `before_run`: only those stored by other runs. A copy stored by this run (another feed, another worker)
    may still be replaced by a better copy, so its entries must reach `insert_articles` whatever the timing."""
    urls = list({u for u in urls if u})
    found: set[str] = set()
    for start in range(0, len(urls), 500):
        query = select(Article.url).where(Article.url.in_(urls[start:start + 500]))
        if before_run is not None:
            query = query.where(or_(Article.run_key.is_(None), Article.run_key != before_run))
        found.update(session.execute(query).scalars())
    return found


COPY_FIELDS = ("content_hash", "url", "source_kind", "source", "origin", "feed_id", "title", "author", "language",
               "published_at", "text", "feed_summary", "extraction", "flags", "topics_hint")


def copy_rank(article: Article) -> tuple:
    """Lowest ranks first among copies of one article: full text over a teaser, then the longer text, then the
    smallest URL, source and feed (one link in several feeds), all properties of the copy itself, never of
    when it arrived."""
    return (article.extraction != "full", -len(article.text or ""), article.url or "", article.source or "",
            article.origin or "", article.content_hash)


def _keep_better(session: Session, stored: Article, copy: Article, *, flush: bool = True) -> bool:
    """Put `copy`'s content into the stored row when it ranks first and comes from the same run; the row keeps
    its id and ingestion time. A copy that would collide with a third row (its URL or hash stored elsewhere)
    is dropped instead. `flush=False` leaves a stored row's change to the caller's flush (`insert_articles`
    flushes a batch's replacements together). Returns whether the copy was put in."""
    if stored is copy or stored.run_key is None or stored.run_key != copy.run_key \
            or copy_rank(copy) >= copy_rank(stored):
        return False
    if stored.id is None or not flush:
        for name in COPY_FIELDS:
            setattr(stored, name, getattr(copy, name))
        return True
    try:
        with session.begin_nested():
            for name in COPY_FIELDS:
                setattr(stored, name, getattr(copy, name))
            session.flush()
    except IntegrityError:
        session.refresh(stored)
        return False
    return True


def find_duplicate(session: Session, url_keys: list[str], content_hash: str) -> Article | None:
    conds = [Article.content_hash == content_hash]
    if url_keys:
        conds.append(Article.url.in_(url_keys))
    return session.execute(select(Article).where(or_(*conds)).limit(1)).scalar_one_or_none()


def insert_article(session: Session, article: Article, url_keys: list[str]) -> tuple[Article, bool]:
    """Store `article` unless the same URL or content is already there; returns (stored row, created)."""
    existing = find_duplicate(session, url_keys, article.content_hash)
    if existing is not None:
        _keep_better(session, existing, article)
        return existing, False
    try:
        with session.begin_nested():
            session.add(article)
            session.flush()
    except IntegrityError:
        existing = find_duplicate(session, url_keys, article.content_hash)
        if existing is None:
            raise
        _keep_better(session, existing, article)
        return existing, False
    return article, True


def insert_articles(session: Session, items: list[tuple[Article, list[str]]]) -> list[tuple[Article, bool]]:
    """Batch form of insert_article, in input order: two lookups, one savepoint for the rows that take a better
    copy and one insert for a whole batch of feeds; falls back to one savepoint per row only when a copy
    collides with a third row or a concurrent writer won a race. Copies within the batch, and of rows this run
    stored before, keep the copy that ranks first (`copy_rank`) in the first copy's row."""
    hashes = [a.content_hash for a, _ in items]
    keys = [k for _, ks in items for k in ks]
    by_hash: dict[str, Article] = {}
    by_url: dict[str, Article] = {}
    for start in range(0, max(len(hashes), len(keys)), 500):
        if hashes[start:start + 500]:
            by_hash.update((a.content_hash, a) for a in session.execute(
                select(Article).where(Article.content_hash.in_(hashes[start:start + 500]))).scalars())
        if keys[start:start + 500]:
            by_url.update((a.url, a) for a in session.execute(
                select(Article).where(Article.url.in_(keys[start:start + 500]))).scalars())
    loaded = list({id(a): a for a in (*by_hash.values(), *by_url.values())}.values())
    undo: list[tuple[Article, dict]] = []
    try:
        with session.begin_nested():
            plan = _sort_out(session, items, dict(by_hash), dict(by_url), undo)
            session.flush()
    except IntegrityError:
        for article, values in reversed(undo):
            for name, value in values.items():
                setattr(article, name, value)
        for article in loaded:
            session.refresh(article)
        plan = _sort_out(session, items, by_hash, by_url, None)
    results, fresh, keys_of = plan
    try:
        with session.begin_nested():
            _bulk_insert(session, [a for _, a, _ in fresh])
        for i, article, _ in fresh:
            results[i] = (article, True)
    except IntegrityError:
        for i, article, url_keys in fresh:
            results[i] = insert_article(session, article, keys_of.get(id(article), url_keys))
    return results


def _sort_out(session: Session, items: list[tuple[Article, list[str]]], by_hash: dict[str, Article],
              by_url: dict[str, Article], undo: list[tuple[Article, dict]] | None):
    """Match each item to a stored row or an earlier item, moving better copies in: (results with None for the
    new ones, the new ones, the URL keys a new one took from a better copy). With `undo`, stored rows are
    changed without a flush of their own (the caller flushes them together) and the new articles a copy
    overwrote are logged there, so the caller can start over row by row."""
    results: list[tuple[Article, bool] | None] = []
    fresh: list[tuple[int, Article, list[str]]] = []
    keys_of: dict[int, list[str]] = {}
    for article, url_keys in items:
        dup = by_hash.get(article.content_hash) or next((by_url[k] for k in url_keys if k in by_url), None)
        if dup is not None:
            if dup.id is None and copy_rank(article) < copy_rank(dup):
                keys_of[id(dup)] = url_keys
                if undo is not None:
                    undo.append((dup, {name: getattr(dup, name) for name in COPY_FIELDS}))
            _keep_better(session, dup, article, flush=undo is None)
            by_hash.setdefault(dup.content_hash, dup)
            by_url.update((k, dup) for k in url_keys if k not in by_url)
            results.append((dup, False))
            continue
        by_hash[article.content_hash] = article
        by_url.update((k, article) for k in url_keys)
        results.append(None)
        fresh.append((len(results) - 1, article, url_keys))
    return results, fresh, keys_of


def _bulk_insert(session: Session, articles: list[Article]) -> None:
    """One multi-row INSERT ... RETURNING id for the articles (ids set on them), or an ORM flush where the
    database cannot return ids from a multi-row insert: the unit of work costs ~0.5 ms of CPU per article."""
    if not articles:
        return
    if not session.get_bind().dialect.insert_executemany_returning_sort_by_parameter_order:
        session.add_all(articles)
        session.flush()
        return
    table = Article.__table__
    columns = [c for c in table.columns if c.key != "id"]
    rows = []
    for article in articles:
        row = {}
        for column in columns:
            value = getattr(article, column.key)
            if value is None and column.default is not None:
                value = column.default.arg(None) if column.default.is_callable else column.default.arg
            row[column.key] = value
        rows.append(row)
    ids = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    for article, article_id in zip(articles, ids, strict=True):
        article.id = article_id


def recent_articles(session: Session, since: datetime, *, limit: int = 20_000) -> list[Article]:
    """Articles ingested since `since`, the window new articles are clustered against."""
    return list(session.execute(select(Article).where(Article.ingested_at >= since)
                                .order_by(Article.id.desc()).limit(limit)).scalars())


def assign_cluster(session: Session, article_ids: list[int], representative_id: int,
                   cluster_id: int | None = None) -> int:
    """Put the articles in one cluster (a new one unless `cluster_id`), returning its id."""
    if cluster_id is None:
        cluster = Cluster(representative_id=representative_id)
        session.add(cluster)
        session.flush()
        cluster_id = cluster.id
    else:
        session.get(Cluster, cluster_id).representative_id = representative_id
    for article in session.execute(select(Article).where(Article.id.in_(article_ids))).scalars():
        article.cluster_id = cluster_id
    return cluster_id


def cluster_members(session: Session, cluster_id: int) -> list[Article]:
    """The articles of one story, representative first, then by publication time."""
    cluster = session.get(Cluster, cluster_id)
    members = list(session.execute(select(Article).where(Article.cluster_id == cluster_id)
                                   .order_by(Article.published_at, Article.id)).scalars())
    rep = cluster.representative_id if cluster else None
    return sorted(members, key=lambda a: a.id != rep)
