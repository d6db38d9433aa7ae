"""The digest stage: pick each subscriber's new stories, render their digest and keep it for delivery.

A digest is keyed by run and recipient, so a retry finds and sends the same message; a run racing
another on the same digest keeps the one stored first.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from newsbrief.alerts.ledger import already_alerted
from newsbrief.config.settings import Settings
from newsbrief.config.subscribers import Subscriber
from newsbrief.digest.delivery import FAILED, SENDING, SENT
from newsbrief.digest.preferences import apply as apply_preferences
from newsbrief.digest.render import DigestItem, FailedInput, ItemTag, message_id, render_digest, select_items
from newsbrief.store import Article, Delivery, Digest, Problem, Store, Summary, Tag
from newsbrief.stories.seen import seen_stories
from newsbrief.text.stage import stored_summary
from newsbrief.text.summarize import DEFAULT_ALGORITHM

log = logging.getLogger(__name__)


def articles_for_interval(store: Store, run_key: str, start: datetime | None, end: datetime | None) -> list[int]:
    """Articles a scheduled digest covers: those its own run ingested and feed articles of its interval."""
    with store.session() as s:
        cond = Article.run_key == run_key
        if start is not None and end is not None:
            cond = or_(cond, (Article.source_kind == "feed") & (Article.ingested_at >= start)
                       & (Article.ingested_at < end))
        return list(s.execute(select(Article.id).where(cond).order_by(Article.id)).scalars())


def _items(session, article_ids: list[int], algorithm: str, sentences: int) -> list[DigestItem]:
    """One item per story: near-duplicate clusters collapse to their representative.

    Three bulk queries for all the stories (other outlets, tags, stored summaries), not three per story:
    a day of a few thousand stories costs milliseconds, not thousands of round trips."""
    articles = list(session.execute(select(Article).where(Article.id.in_(article_ids))
                                    .order_by(Article.id)).scalars())
    by_story: dict[object, list[Article]] = {}
    for article in articles:
        by_story.setdefault(("c", article.cluster_id) if article.cluster_id else ("a", article.id), []).append(article)
    reps = [max(members, key=lambda a: (a.extraction == "full", len(a.text), -a.id)) for members in by_story.values()]
    sources: dict[int, list[tuple[int, str]]] = {}
    tags: dict[int, list[Tag]] = {}
    summaries: dict[int, list[str]] = {}
    cluster_ids, rep_ids = sorted({r.cluster_id for r in reps if r.cluster_id}), [r.id for r in reps]
    for start in range(0, max(len(cluster_ids), len(rep_ids)), 1000):
        for cid, aid, src in session.execute(select(Article.cluster_id, Article.id, Article.source)
                                             .where(Article.cluster_id.in_(cluster_ids[start:start + 1000]))):
            sources.setdefault(cid, []).append((aid, src))
        for tag in session.execute(select(Tag).where(Tag.article_id.in_(rep_ids[start:start + 1000]))
                                   .order_by(Tag.score.desc(), Tag.id)).scalars():
            tags.setdefault(tag.article_id, []).append(tag)
        summaries.update(session.execute(select(Summary.article_id, Summary.text).where(
            Summary.article_id.in_(rep_ids[start:start + 1000]), Summary.algorithm == algorithm,
            Summary.sentences == sentences)).tuples().all())
    items = []
    for rep in reps:
        also = sorted({src for aid, src in sources.get(rep.cluster_id, ()) if aid != rep.id and src != rep.source})
        summary = list(summaries[rep.id]) if rep.id in summaries else stored_summary(session, rep, algorithm, sentences)
        items.append(DigestItem(
            article_id=rep.id, title=rep.title, source=rep.source, summary=summary,
            tags=[ItemTag(t.tag, t.label, t.score) for t in tags.get(rep.id, ())], link=rep.url,
            published=rep.published_at, also_reported_by=also, flags=list(rep.flags or []),
        ))
    return items


def _already_sent(session, recipient: str, run_key: str, candidates: list[int]) -> set[int]:
    """Candidates the recipient already got in an earlier run (delivery status `sent`), or that an earlier
    digest still being redelivered carries (`failed`/`sending`, retried with its own Message-ID): the
    article itself, or another outlet's version of the same story (its cluster)."""
    rows = session.execute(select(Digest.article_ids).join(Delivery, Delivery.digest_id == Digest.id)
                           .where(Digest.recipient == recipient, Digest.run_key != run_key,
                                  Delivery.status.in_((SENT, FAILED, SENDING)))).scalars()
    return seen_stories(session, (aid for ids in rows for aid in ids), candidates)


def _summarize_failures(problems) -> list[FailedInput]:
    """One footer line per failing input: an hourly feed down all day is listed once, with its count."""
    latest: dict[tuple[str, str], FailedInput] = {}
    counts: dict[tuple[str, str], int] = {}
    for p in problems:
        key = (p.stage, p.source)
        latest[key] = FailedInput(p.stage, p.source, p.reason)
        counts[key] = counts.get(key, 0) + 1
    out = []
    for key, failure in latest.items():
        if counts[key] > 1:
            failure.reason = f"{failure.reason} (failed in {counts[key]} runs)"
        out.append(failure)
    return out


def build_digests(store: Store, settings: Settings, run_key: str, article_ids: list[int],
                  subscribers: list[Subscriber], taxonomy, *, algorithm: str = DEFAULT_ALGORITHM,
                  sentences: int = 3, resend: bool = False, problems_since: datetime | None = None,
                  run_label: str | None = None) -> list[int]:
    """Render one digest per subscriber who has new stories; returns digest ids.

    A digest already built for this run and recipient is kept as it was, so a retry sends the same
    message. Stories a recipient got in an earlier run, or that an earlier digest awaiting redelivery
    carries, are always left out: `resend` (force) re-processes seeds for recipients who have not had
    them, never a second copy for one who has.
    """
    topic_order = [(t.id, t.label) for t in taxonomy.topics]
    broad = frozenset(t.id for t in taxonomy.topics if t.broad)
    now = datetime.now(UTC)
    label = run_label or run_key.split("/", 1)[-1]
    digest_ids: list[int] = []
    with store.session() as s:
        cond = Problem.run_key == run_key
        if problems_since is not None:
            cond = or_(cond, Problem.created_at >= problems_since)
        failures = _summarize_failures(s.execute(select(Problem).where(cond).order_by(Problem.id)).scalars())
    for sub in apply_preferences(store, subscribers):
        with store.session() as s:
            existing = s.execute(select(Digest).where(Digest.run_key == run_key,
                                                      Digest.recipient == sub.email)).scalar_one_or_none()
            if existing is not None:
                digest_ids.append(existing.id)
                continue
            alerted = already_alerted(s, sub.email, article_ids, repeats=sub.digest_repeats_alerts)
            skip = _already_sent(s, sub.email, run_key, article_ids) | alerted
            items = _items(s, [a for a in article_ids if a not in skip], algorithm, sub.sentences or sentences)
            groups = select_items(items, sub, topic_order, broad)
            if not groups:
                log.info("no new stories on %s's topics (%s): no digest for them this run%s", sub.email,
                         ", ".join(sub.topics) or "all", " (stories sent before, or awaiting redelivery, are not repeated)")
                continue
            rendered = render_digest(settings.templates_dir, subscriber=sub, groups=groups, failures=failures,
                                     run_label=label, generated_at=now)
            digest = Digest(run_key=run_key, recipient=sub.email, recipient_name=sub.name,
                            subject=rendered.subject, html=rendered.html, text=rendered.text,
                            article_ids=[i.article_id for g in rendered.groups for i in g.items],
                            message_id=message_id(run_key, sub.email), created_at=now)
            try:
                with s.begin_nested():
                    s.add(digest)
                    s.flush()
            except IntegrityError:
                winner = s.execute(select(Digest).where(or_(
                    (Digest.run_key == run_key) & (Digest.recipient == sub.email),
                    Digest.message_id == digest.message_id))).scalars().first()
                if winner is None:
                    raise
                log.info("digest %s for %s was built by a concurrent run of %s: keeping it", winner.id, sub.email,
                         run_key)
                digest_ids.append(winner.id)
                continue
            digest_ids.append(digest.id)
            log.info("digest %s for %s: %d stories, %d failed inputs listed", digest.id, sub.email,
                     len(digest.article_ids), len(failures))
    return digest_ids
