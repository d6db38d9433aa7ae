"""Run alerts for one data interval: match, claim in the ledger, render, send once, write the Atom feed.

`as_it_happens` alerts send what arrived since their last email; a subscriber's as_it_happens
alerts share one email (a section each), at most one every `min_interval_minutes`, batching what
arrived meanwhile; an alert in its quiet hours sits out and its items wait in the store, unclaimed,
for the first send after. `daily`/`weekly` alerts send in the run whose interval holds their hour, once per period
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
from newsbrief.digest.links import ALERTS, ALL, list_unsubscribe_headers, load_link_settings, unsubscribe_url
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


@dataclass
class Section:
    """One alert's part of an email: its items, and how many matches its cap left out."""

    alert: Alert
    items: list[dict]
    more: int = 0


def render_alert(templates_dir: Path, sections: list[Section]) -> tuple[str, str, str]:
    """(subject, text, html) of one alert email: one section per alert (several for a subscriber's
    as_it_happens alerts due together)."""
    env = _env(templates_dir)
    links = load_link_settings()
    email = sections[0].alert.email
    ctx = {"sections": [{"alert": x.alert, "entries": x.items, "more": x.more,
                         "query": str(x.alert.query) if x.alert.query else ", ".join(x.alert.topics),
                         "unsubscribe_alert": unsubscribe_url(email, x.alert.scope, settings=links)}
                        for x in sections],
           "unsubscribe_all": unsubscribe_url(email, ALL, settings=links)}
    subject = " ".join(env.get_template("alert.subject.txt.j2").render(**ctx).split())
    ctx["subject"] = subject
    text = env.get_template("alert.txt.j2").render(**ctx)
    html = env.get_template("alert.html.j2").render(**ctx)
    return subject, text, html


def build_alert_message(alerts: list[Alert], message_id: str, subject: str, text: str, html: str, *,
                        sender: str, date: datetime) -> EmailMessage:
    """The one-click unsubscribe header leaves the one alert of a single-alert email, else all the reader's alerts
    (never the digest: the email is about alerts)."""
    email = alerts[0].email
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr(("newsbrief", sender))
    msg["To"] = email
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["X-Newsbrief-Alert"] = ", ".join(a.id for a in alerts)
    scope = alerts[0].scope if len(alerts) == 1 else ALERTS
    for name, value in list_unsubscribe_headers(email, scope, settings=load_link_settings()).items():
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


def _scheduled_batch(alert: Alert, start: datetime, end: datetime) -> tuple[str, datetime] | None:
    """(batch key, since) of a daily/weekly alert due in [start, end), else None."""
    period = alert.due_period(start, end)
    if period is None:
        return None
    return f"{alert.frequency}:{period}", end - (timedelta(days=1) if alert.frequency == "daily" else timedelta(days=7))


def _groups(session, chosen: list[Alert], start: datetime, end: datetime) -> list[tuple[list[Alert], str, str, dict]]:
    """The emails this run may send: (alerts, batch key, Message-ID, alert key -> since or None).

    A daily/weekly alert is an email of its own. A subscriber's as_it_happens alerts share one email,
    at most one every N minutes (N: the smallest `min_interval_minutes` among them); an alert in its
    quiet hours sits that email out and its items wait. `since` None: not due, only an unfinished
    earlier email of the alert may be resent."""
    out = []
    by_subscriber: dict[str, list[Alert]] = {}
    for a in chosen:
        if a.frequency == "as_it_happens":
            by_subscriber.setdefault(a.email.lower(), []).append(a)
            continue
        batch = _scheduled_batch(a, start, end)
        key = batch[0] if batch else f"retry:{end.isoformat()}"
        out.append(([a], key, ledger.message_id(a.key, key), {a.key: batch[1] if batch else None}))
    for email, group in by_subscriber.items():
        batch = f"asap:{end.isoformat()}"
        last = ledger.last_sent_at(session, [a.key for a in group])
        wait = timedelta(minutes=min(a.min_interval_minutes for a in group))
        due = last is None or end - last >= wait
        since = {a.key: (end - LOOKBACK if due and not a.in_quiet_hours(end) else None) for a in group}
        out.append((group, batch, ledger.message_id(email, batch), since))
    return out


def run_alerts(store, alerts: list[Alert], *, start: datetime, end: datetime, templates_dir: Path,
               outbox_dir: Path, target: SmtpTarget | None, frequencies: tuple[str, ...]) -> AlertReport:
    """Send the alerts of `frequencies` due in the interval [start, end); idempotent per interval."""
    report = AlertReport()
    lease = timedelta(seconds=float(os.environ.get("NEWSBRIEF_SEND_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)))
    chosen = [a for a in alerts if a.frequency in frequencies]
    with store.session() as s:
        groups = [g for g in _groups(s, chosen, start, end)
                  if any(v is not None for v in g[3].values()) or ledger.pending(s, [a.key for a in g[0]])]
        since = min((v for g in groups for v in g[3].values() if v is not None), default=end)
        ingested = dict(s.execute(select(Article.id, Article.ingested_at).where(
            Article.ingested_at >= since, Article.ingested_at < end)).all())
        cands = candidates_from_store(s, list(ingested))
    wanted = [a for g in groups for a in g[0]]
    position = {a.key: i for i, a in enumerate(wanted)}
    index = AlertIndex(wanted)
    found = index.match_ids(cands)
    by_id = {c.article_id: c for c in cands}
    for group, batch_key, group_mid, since_of in groups:
        by_key = {a.key: a for a in group}
        with store.session() as s:
            claims = {}
            for a in group:
                i, since_a = position[a.key], since_of[a.key]
                fresh = [aid for aid in found.get(i, []) if ingested[aid] >= since_a] if since_a is not None else []
                claims[a.key] = ([(aid, partial(index.terms_of, i, by_id[aid])) for aid in fresh], a.cap)
            mid, rows = ledger.claim_group(s, group[0].email, claims, batch_key, group_mid, lease=lease)
            if not rows:
                continue
            sections = []
            for a in group:
                mine = [r for r in rows if r.alert_key == a.key]
                if mine:
                    sections.append(Section(a, _items(s, mine), ledger.over_cap(s, mid, a.key)))
            orphans = {r.alert_key for r in rows} - set(by_key)
        if orphans:  # an unfinished email of an alert no longer on: leave it, say so
            log.warning("unfinished alert email %s holds alerts no longer active (%s): not resent", mid,
                        ", ".join(sorted(orphans)))
        if not sections:
            continue
        sent_at = end
        subject, text, html = render_alert(templates_dir, sections)
        sender = target.from_email if target is not None else DEFAULT_SENDER
        in_mail = [x.alert for x in sections]
        msg = build_alert_message(in_mail, mid, subject, text, html, sender=sender, date=sent_at)
        email = in_mail[0].email
        folder = alert_dir(outbox_dir, email)
        try:
            if target is not None:
                with smtp_session(target) as client:
                    client.sendmail(sender, [email], msg.as_bytes(policy=WIRE_POLICY))
                location = f"smtp:{target.host}"
            else:
                name = re.sub(r"[^A-Za-z0-9]+", "", mid)[:40]
                path = folder / f"{slug('+'.join(a.id for a in in_mail))}.{name}.eml"
                _write(path, msg.as_bytes(policy=WIRE_POLICY))
                location = str(path)
        except Exception as exc:  # one email's failed send must not stop the others
            reason = f"{type(exc).__name__}: {exc}"
            with store.session() as s:
                ledger.release(s, mid)
            for a in in_mail:
                report.failed[a.key] = reason
            log.error("alert email %s to %s not sent (%s): the next run resends it with this Message-ID", mid,
                      email, reason)
            continue
        with store.session() as s:
            ledger.mark_sent(s, mid, sent_at, [a.key for a in in_mail])
            for x in sections:
                _write(folder / f"{slug(x.alert.id)}.atom", atom_feed(s, x.alert).encode())
        report.sent.extend(f"{x.alert.key}: {len(x.items)} items" for x in sections)
        report.locations.append(location)
    report.waiting = [a.key for g in groups for a in g[0] if g[3][a.key] is None and a.frequency == "as_it_happens"]
    report.waiting += [a.key for a in chosen if a.frequency == "as_it_happens" and a.key not in position]
    return report
