"""An alert as declared in subscribers.yaml, and when it is due.

An alert is a query and/or topics: with both, an article must match the query AND carry one of the
topics. `quality: best` keeps an article only when one of its tags scores at least BEST_MIN_TAG_SCORE
(1.5x the taxonomy's default threshold of 8) or its story gathers at least BEST_MIN_STORY_SIZE
articles from different feeds; `all` keeps every match.

Periods are computed from a data interval, never from the clock: a daily alert is due in the run
whose interval contains its hour (in its timezone), a weekly one also on its day; the period key
("2026-12-02" or "2026-W49") makes each period's send happen once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsbrief.alerts.query import Filter, Or, Query, parse

FREQUENCIES = ("as_it_happens", "daily", "weekly")
QUALITIES = ("best", "all")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BEST_MIN_TAG_SCORE = 12.0
BEST_MIN_STORY_SIZE = 2
DEFAULT_CAP = 20
DEFAULT_MIN_INTERVAL = 15
DEFAULT_HOUR = 8


@dataclass(frozen=True)
class Alert:
    id: str
    email: str
    query: Query | None = None
    topics: tuple[str, ...] = ()
    frequency: str = "as_it_happens"
    hour: int = DEFAULT_HOUR
    day: str = "monday"
    timezone: str = "UTC"
    quality: str = "all"
    cap: int = DEFAULT_CAP
    min_interval_minutes: int = DEFAULT_MIN_INTERVAL
    quiet_hours: tuple[time, time] | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """Unique across subscribers: the ledger and Message-IDs use it."""
        return f"{self.email.lower()}/{self.id}"

    @property
    def scope(self) -> str:
        return f"alert:{self.id}"

    @property
    def full_query(self) -> Query:
        """The query with the topics folded in as tag: filters (for matching and the index)."""
        from newsbrief.alerts.query import And

        parts = []
        if self.query is not None:
            parts.append(self.query.root)
        if self.topics:
            tags = tuple(Filter("tag", t.lower()) for t in self.topics)
            parts.append(tags[0] if len(tags) == 1 else Or(tags))
        root = parts[0] if len(parts) == 1 else And(tuple(parts))
        return Query(root, str(root))

    def keeps(self, best_tag_score: float, story_size: int) -> bool:
        return self.quality == "all" or best_tag_score >= BEST_MIN_TAG_SCORE or story_size >= BEST_MIN_STORY_SIZE

    def in_quiet_hours(self, at: datetime) -> bool:
        if self.quiet_hours is None:
            return False
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        start, end = self.quiet_hours
        return start <= local < end if start <= end else (local >= start or local < end)

    def due_period(self, start: datetime, end: datetime) -> str | None:
        """For daily/weekly alerts: the period key when its send time falls in [start, end), else None."""
        if self.frequency == "as_it_happens":
            return None
        tz = ZoneInfo(self.timezone)
        day = start.astimezone(tz).date() - timedelta(days=1)
        while (moment := datetime.combine(day, time(self.hour), tz)) < end:
            if start <= moment and (self.frequency == "daily" or DAYS[moment.weekday()] == self.day):
                if self.frequency == "daily":
                    return moment.date().isoformat()
                year, week, _ = moment.isocalendar()
                return f"{year}-W{week:02d}"
            day += timedelta(days=1)
        return None

    def period_start(self, send_at: datetime) -> datetime:
        return send_at - (timedelta(days=1) if self.frequency == "daily" else timedelta(days=7))


def parse_query(text: str) -> Query:
    return parse(text)
