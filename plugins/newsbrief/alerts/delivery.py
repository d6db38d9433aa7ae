"""Run alerts for one data interval: match, claim in the ledger, render, send once, write the Atom feed.

`as_it_happens` alerts send what arrived since their last email, at most one email every
`min_interval_minutes` and none in quiet hours (the items wait in the store, unclaimed, for the first
run after). `daily`/`weekly` alerts send in the run whose interval holds their hour, once per period
(the period is the ledger's batch key). Times come from the interval, never the clock. Mail goes
through the digest's channel (`choose_channel`: SMTP connection or the outbox); an alert's outbox
files and Atom feed live in `outbox/alerts/<subscriber>/`.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import partial
from pathlib import Path
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from newsbrief.alerts import ledger
from newsbrief.alerts.matching import AlertIndex, candidates_from_store
from newsbrief.alerts.spec import Alert
from newsbrief.digest.delivery import DEFAULT_LEASE_SECONDS, WIRE_POLICY, slug
from newsbrief.digest.links import ALL, list_unsubscribe_headers, load_link_settings, unsubscribe_url
from newsbrief.orchestration.glue import DEFAULT_SENDER, SmtpTarget, smtp_session
from newsbrief.store.schema import AlertItem, Article, Summary, Tag

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=7)


@dataclass
class AlertReport:
    sent: list[str] = field(default_factory=list)  # "<email>/<alert>: N items"
    waiting: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # alert key -> reason (resent by the next run)


def _env(templates_dir: Path) -> Environment:
    return Environment(loader=FileSystemLoader(str(templates_dir)), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def _items(session, rows: list[AlertItem]) -> list[dict]:
    out = []
    for row in rows:
        a = session.get(Article, row.article_id)
        summary = session.execute(select(Summary.text).where(Summary.article_id == a.id)
                                  .order_by(Summary.id.desc()).limit(1)).scalar_one_or_none()
        text = " ".join(summary) if summary else (a.feed_summary or a.text[:300])
        tags = list(session.execute(select(Tag.label).where(Tag.article_id == a.id).order_by(Tag.score.desc())).scalars())
        out.append({"id": a.id, "title": a.title, "url": a.url or a.origin, "source": a.source, "summary": text,
                    "tags": tags, "matched": list(row.matched or []),
                    "published": a.published_at or a.ingested_at})
    return out


def render_alert(templates_dir: Path, alert: Alert, items: list[dict], *, more: int = 0) -> tuple[str, str, str]:
    """(subject, text, html) of one alert email; `more`: matches the cap left out."""
    env = _env(templates_dir)
    links = load_link_settings()
    ctx = {"alert": alert, "items": items, "more": more, "query": str(alert.query) if alert.query else ", ".join(alert.topics),
           "unsubscribe_alert": unsubscribe_url(alert.email, alert.scope, settings=links),
           "unsubscribe_all": unsubscribe_url(alert.email, ALL, settings=links)}
    subject = " ".join(env.get_template("alert.subject.txt.j2").render(**ctx).split())
    ctx["subject"] = subject
    text = env.get_template("alert.txt.j2").render(**ctx)
    html = env.get_template("alert.html.j2").render(**ctx)
    return subject, text, html


def build_alert_message(alert: Alert, message_id: str, subject: str, text: str, html: str, *,
                        sender: str, date: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr(("newsbrief", sender))
    msg["To"] = alert.email
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["X-Newsbrief-Alert"] = alert.id
    for name, value in list_unsubscribe_headers(alert.email, alert.scope, settings=load_link_settings()).items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def alert_dir(outbox_dir: Path, email: str) -> Path:
    return Path(outbox_dir) / "alerts" / slug(email.lower())


def atom_feed(session, alert: Alert, *, limit: int = 50) -> str:
    """The alert as an Atom feed (its sent items, newest first): what the web app can serve."""
    ns = "http://www.w3.org/2005/Atom"
    rows = list(session.execute(select(AlertItem).where(AlertItem.alert_key == alert.key, AlertItem.status == "sent")
                                .order_by(AlertItem.sent_at.desc(), AlertItem.id.desc()).limit(limit)).scalars())
    feed = ET.Element("feed", xmlns=ns)
    ET.SubElement(feed, "title").text = f"newsbrief alert: {alert.id}"
    ET.SubElement(feed, "id").text = f"urn:newsbrief:alert:{slug(alert.key)}"
    updated = rows[0].sent_at if rows else datetime(2020, 1, 1).astimezone()
    ET.SubElement(feed, "updated").text = updated.isoformat()
    for item, row in zip(_items(session, rows), rows, strict=True):
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "title").text = item["title"]
        ET.SubElement(entry, "id").text = f"urn:newsbrief:alert:{slug(alert.key)}:{item['id']}"
        ET.SubElement(entry, "link", href=item["url"] or "")
        ET.SubElement(entry, "updated").text = row.sent_at.isoformat()
        ET.SubElement(entry, "summary").text = item["summary"]
        for tag in item["tags"]:
            ET.SubElement(entry, "category", term=tag)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _batch(alert: Alert, session, start: datetime, end: datetime) -> tuple[str, datetime] | None:
    """(batch key, since) when the alert sends in [start, end), else None (not due, or waiting)."""
    if alert.frequency == "as_it_happens":
        if alert.in_quiet_hours(end):
            return None
        last = ledger.last_sent_at(session, alert.key)
        if last is not None and end - last < timedelta(minutes=alert.min_interval_minutes):
            return None
        return f"asap:{end.isoformat()}", end - LOOKBACK
    period = alert.due_period(start, end)
    if period is None:
        return None
    return f"{alert.frequency}:{period}", end - (timedelta(days=1) if alert.frequency == "daily" else timedelta(days=7))


def run_alerts(store, alerts: list[Alert], *, start: datetime, end: datetime, templates_dir: Path,
               outbox_dir: Path, target: SmtpTarget | None, frequencies: tuple[str, ...]) -> AlertReport:
    """Send the alerts of `frequencies` due in the interval [start, end); idempotent per interval."""
    report = AlertReport()
    lease = timedelta(seconds=float(os.environ.get("NEWSBRIEF_SEND_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)))
    chosen = [a for a in alerts if a.frequency in frequencies]
    with store.session() as s:
        due = {a.key: b for a in chosen if (b := _batch(a, s, start, end)) is not None}
        unfinished = {a.key for a in chosen if ledger.pending(s, a.key)}
        since = min((b[1] for b in due.values()), default=end)
        ingested = dict(s.execute(select(Article.id, Article.ingested_at).where(
            Article.ingested_at >= since, Article.ingested_at < end)).all())
        cands = candidates_from_store(s, list(ingested))
    wanted = [a for a in chosen if a.key in due or a.key in unfinished]
    index = AlertIndex(wanted)
    found = index.match_ids(cands)
    by_id = {c.article_id: c for c in cands}
    for i, alert in enumerate(wanted):
        batch_key, since_a = due.get(alert.key, (f"retry:{end.isoformat()}", end))
        with store.session() as s:
            fresh = [aid for aid in found.get(i, []) if ingested[aid] >= since_a] if alert.key in due else []
            matches = [(aid, partial(index.terms_of, i, by_id[aid])) for aid in fresh]
            mid, rows = ledger.claim(s, alert.key, alert.email, batch_key, matches, cap=alert.cap, lease=lease)
            if not rows:
                continue
            items = _items(s, rows)
            more = ledger.over_cap(s, mid)
            sent_at = end
        subject, text, html = render_alert(templates_dir, alert, items, more=more)
        sender = target.from_email if target is not None else DEFAULT_SENDER
        msg = build_alert_message(alert, mid, subject, text, html, sender=sender, date=sent_at)
        folder = alert_dir(outbox_dir, alert.email)
        try:
            if target is not None:
                with smtp_session(target) as client:
                    client.sendmail(sender, [alert.email], msg.as_bytes(policy=WIRE_POLICY))
                location = f"smtp:{target.host}"
            else:
                name = re.sub(r"[^A-Za-z0-9]+", "", mid)[:40]
                path = folder / f"{slug(alert.id)}.{name}.eml"
                _write(path, msg.as_bytes(policy=WIRE_POLICY))
                location = str(path)
        except Exception as exc:  # one alert's failed send must not stop the others
            reason = f"{type(exc).__name__}: {exc}"
            with store.session() as s:
                ledger.release(s, mid)
            report.failed[alert.key] = reason
            log.error("alert %s to %s not sent (%s): the next run resends it with Message-ID %s",
                      alert.id, alert.email, reason, mid)
            continue
        with store.session() as s:
            ledger.mark_sent(s, mid, sent_at)
            _write(folder / f"{slug(alert.id)}.atom", atom_feed(s, alert).encode())
        report.sent.append(f"{alert.key}: {len(items)} items")
        report.locations.append(location)
    report.waiting = [a.key for a in chosen if a.frequency == "as_it_happens" and a.key not in due]
    return report
