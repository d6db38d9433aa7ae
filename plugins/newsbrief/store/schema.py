"""The store's tables: one SQLAlchemy schema for SQLite (embedded) and PostgreSQL (deployments).

Uniqueness is enforced by the database, not by Python checks, so two workers racing on the same
article or delivery cannot both win: `articles.content_hash`, `articles.url`,
`digests(run_key, recipient)` and `deliveries.message_id` are unique.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Feed(Base):
    """A declared feed and its fetch state (conditional GET validators, failures, back-off)."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Cluster(Base):
    """A story: near-duplicate articles from several outlets shown once in the digest."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    representative_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Article(Base):
    __tablename__ = "articles"
    # PostgreSQL's full-text search index (revision 0005_search_index), written as PostgreSQL reflects it so
    # the schema check compares equal; SQLite searches the web app's own FTS5 table instead
    __table_args__ = (Index("ix_articles_search_english",
                            text("to_tsvector('english'::regconfig, (title || ' '::text) || text)"),
                            postgresql_using="gin").ddl_if(dialect="postgresql"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    source_kind: Mapped[str] = mapped_column(String(10))  # "seed" or "feed"
    source: Mapped[str] = mapped_column(String(300))  # outlet/feed name or seed file name
    origin: Mapped[str] = mapped_column(String(2048))  # seed path or feed URL it came from
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id"))
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(20))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    text: Mapped[str] = mapped_column(Text)
    feed_summary: Mapped[str | None] = mapped_column(Text)
    extraction: Mapped[str] = mapped_column(String(20), default="full")  # full | feed_text | seed
    flags: Mapped[list] = mapped_column(JSON, default=list)
    topics_hint: Mapped[list] = mapped_column(JSON, default=list)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"), index=True)
    run_key: Mapped[str | None] = mapped_column(String(200), index=True)  # the run that first ingested it


class Summary(Base):
    __tablename__ = "summaries"
    __table_args__ = (UniqueConstraint("article_id", "algorithm", "sentences"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    algorithm: Mapped[str] = mapped_column(String(40))
    sentences: Mapped[int] = mapped_column(Integer)
    text: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("article_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list] = mapped_column(JSON, default=list)


class Problem(Base):
    """An input that failed in a run (file, feed, page, recipient): logged and listed in the digest footer."""

    __tablename__ = "problems"
    __table_args__ = (UniqueConstraint("run_key", "stage", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(200), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Digest(Base):
    """One rendered digest for one recipient in one run (keyed by the run's data interval)."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("run_key", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(200), index=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    article_ids: Mapped[list] = mapped_column(JSON, default=list)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The ledger: one row per digest sent (or attempted), checked before every send."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), unique=True)
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # smtp | outbox
    status: Mapped[str] = mapped_column(String(20))  # sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)  # outbox file path or SMTP host
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SubscriberPref(Base):
    """Choices a subscriber made on the web (opt-out, topics, length, cap); subscribers.yaml stays the list
    of who may subscribe, and these override its defaults from the next run on."""

    __tablename__ = "subscriber_prefs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    topics: Mapped[list | None] = mapped_column(JSON)
    sentences: Mapped[int | None] = mapped_column(Integer)
    max_items: Mapped[int | None] = mapped_column(Integer)
    muted_alerts: Mapped[list | None] = mapped_column(JSON)  # alert ids left with their one-click link
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TemplateLine(Base):
    """A line or sentence key (`newsbrief.text.furniture.template_key`) seen in one article of a source:
    keys seen in `TEMPLATE_MIN_ARTICLES` articles of the same source are that source's furniture."""

    __tablename__ = "template_lines"
    __table_args__ = (UniqueConstraint("source", "key", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(2048), index=True)
    key: Mapped[str] = mapped_column(String(32))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


class AlertItem(Base):
    """The alerts' ledger: an article is sent at most once per alert (unique alert_key, article_id).

    Items are claimed into a batch (`batch_key`: the run's interval or the daily/weekly period) with
    a Message-ID derived from alert and batch, so a retried or overlapping run finds the same batch
    and resends at most that one message under the same Message-ID."""

    __tablename__ = "alert_items"
    __table_args__ = (UniqueConstraint("alert_key", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(420), index=True)  # "<email>/<alert id>"
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    batch_key: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(300), index=True)
    matched: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed | sent | over_cap (never sent)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # when the current attempt took the batch: another run leaves it alone for the send lease
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertSubscription(Base):
    """An alert changed outside subscribers.yaml (`newsbrief alerts add|remove`, the web page).

    subscribers.yaml declares who may subscribe and their alerts; a row here overrides the declared
    alert of the same (email, alert_id) or adds one: `definition` is the alert's mapping as in the YAML
    (validated by the same code on every load), `removed_at` set means the alert is off."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("email", "alert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    alert_id: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict | None] = mapped_column(JSON)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
