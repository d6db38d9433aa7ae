"""The stages the DAGs wire together; each reads ids from the store, writes results back, returns ids.

Every stage is keyed by a run key (the run's data interval, or its run id for manual runs) and can be
re-run for the same key with the same outcome: that is what makes Airflow retries safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, or_, select

from newsbrief.airflow_glue import DEFAULT_SENDER
from newsbrief.delivery import (
    SENT,
    DeliveryReport,
    build_message,
    choose_channel,
    deliver_digests,
    write_outbox,
)
from newsbrief.digest import DigestItem, FailedInput, ItemTag, message_id, render_digest, select_items
from newsbrief.seeds import find_seeds, read_seeds
from newsbrief.settings import Settings
from newsbrief.store import Article, Delivery, Digest, Problem, Store, Summary, Tag
from newsbrief.store.problems import add_problem
from newsbrief.subscribers import Subscriber
from newsbrief.summarize import DEFAULT_ALGORITHM, summarize

log = logging.getLogger(__name__)

DRY_RUN_PREFIX = "dry-run:"


@dataclass
class SeedIngest:
    article_ids: list[int] = field(default_factory=list)
    already_known: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def ingest_seed_files(store: Store, settings: Settings, run_key: str, *, patterns: str | list[str] = "*",
                      force: bool = False) -> SeedIngest:
    """Store new seed articles; a seed already processed (same content) is skipped unless forced."""
    result = SeedIngest()
    paths = find_seeds(settings.seeds_dir, patterns)
    if not paths:
        log.warning("no seed files match %r in %s: nothing to ingest", patterns, settings.seeds_dir)
    scan = read_seeds(paths, max_bytes=settings.max_seed_bytes)
    for problem in scan.problems:
        log.error("seed skipped: %s", problem)
        with store.session() as s:
            add_problem(s, run_key, "seed", problem.source, f"{problem.reason} (fix: {problem.fix})")
        result.problems.append(str(problem))
    for doc in scan.documents:
        digest = doc.content_hash
        with store.session() as s:
            article = s.execute(select(Article).where(Article.content_hash == digest)).scalar_one_or_none()
            if article is None:
                article = Article(content_hash=digest, url=None, source_kind="seed", source=doc.path.name,
                                  origin=str(doc.path), title=doc.title, text=doc.body, extraction="seed",
                                  flags=[], topics_hint=[], run_key=run_key,
                                  published_at=datetime.fromtimestamp(doc.path.stat().st_mtime, UTC))
                s.add(article)
                s.flush()
                log.info("seed %s stored as article %s: %s", doc.path.name, article.id, doc.title)
            elif article.run_key and article.run_key.startswith(DRY_RUN_PREFIX) and article.run_key != run_key:
                article.run_key = run_key  # a dry run only previewed it: the first real run adopts it
            elif article.run_key != run_key and not force:
                log.info("seed %s was already processed (article %s, run %s): skipped; trigger with force=true "
                         "to send it again", doc.path.name, article.id, article.run_key)
                result.already_known.append(doc.path.name)
                continue
            result.article_ids.append(article.id)
    return result


def articles_for_interval(store: Store, run_key: str, start: datetime | None, end: datetime | None) -> list[int]:
    """Articles a scheduled digest covers: those its own run ingested and feed articles of its interval."""
    with store.session() as s:
        cond = Article.run_key == run_key
        if start is not None and end is not None:
            cond = or_(cond, (Article.source_kind == "feed") & (Article.ingested_at >= start)
                       & (Article.ingested_at < end))
        return list(s.execute(select(Article.id).where(cond).order_by(Article.id)).scalars())


def summarize_articles(store: Store, article_ids: list[int], *, algorithm: str = DEFAULT_ALGORITHM,
                       sentences: int = 3) -> list[int]:
    """Compute (or keep) each article's summary for this algorithm and length."""
    for article_id in article_ids:
        with store.session() as s:
            _summary_of(s, s.get(Article, article_id), algorithm, sentences)
    return article_ids


def _summary_of(session, article: Article, algorithm: str, sentences: int) -> list[str]:
    row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                Summary.sentences == sentences)).scalar_one_or_none()
    if row is None:
        text = summarize(article.text, title=article.title, sentences=sentences, algorithm=algorithm)
        if not text:
            log.warning("article %s (%s) has no sentence to summarize", article.id, article.origin)
        row = Summary(article_id=article.id, algorithm=algorithm, sentences=sentences, text=text)
        session.add(row)
        session.flush()
    return list(row.text)


def tag_articles(store: Store, article_ids: list[int], taxonomy) -> list[int]:
    """Replace each article's tags with the taxonomy's current verdict (re-runs give the same rows)."""
    from newsbrief.tagging import tag_article

    for article_id in article_ids:
        with store.session() as s:
            article = s.get(Article, article_id)
            hits = tag_article(article.title, article.text, taxonomy)
            s.execute(delete(Tag).where(Tag.article_id == article_id))
            for hit in hits:
                s.add(Tag(article_id=article_id, tag=hit.tag, label=hit.label, score=float(hit.score),
                          evidence=list(hit.evidence)))
            log.info("article %s tagged: %s", article_id, ", ".join(h.tag for h in hits) or "(no topic)")
    return article_ids


def _items(session, article_ids: list[int], algorithm: str, sentences: int) -> list[DigestItem]:
    """One item per story: near-duplicate clusters collapse to their representative."""
    articles = list(session.execute(select(Article).where(Article.id.in_(article_ids))
                                    .order_by(Article.id)).scalars())
    by_story: dict[object, list[Article]] = {}
    for article in articles:
        by_story.setdefault(("c", article.cluster_id) if article.cluster_id else ("a", article.id), []).append(article)
    items = []
    for members in by_story.values():
        rep = max(members, key=lambda a: (a.extraction == "full", len(a.text), -a.id))
        if rep.cluster_id:
            others = session.execute(select(Article.source).where(Article.cluster_id == rep.cluster_id,
                                                                  Article.id != rep.id)).scalars()
            also = sorted({src for src in others if src != rep.source})
        else:
            also = []
        tags = session.execute(select(Tag).where(Tag.article_id == rep.id).order_by(Tag.score.desc())).scalars()
        items.append(DigestItem(
            article_id=rep.id, title=rep.title, source=rep.source,
            summary=_summary_of(session, rep, algorithm, sentences),
            tags=[ItemTag(t.tag, t.label, t.score) for t in tags], link=rep.url, published=rep.published_at,
            also_reported_by=also, flags=list(rep.flags or []),
        ))
    return items


def _already_sent(session, recipient: str, run_key: str, candidates: list[int]) -> set[int]:
    """Candidates the recipient already got in an earlier run: the article itself, or another outlet's
    version of the same story (its cluster)."""
    rows = session.execute(select(Digest.article_ids).join(Delivery, Delivery.digest_id == Digest.id)
                           .where(Digest.recipient == recipient, Digest.run_key != run_key,
                                  Delivery.status == SENT)).scalars()
    sent = {aid for ids in rows for aid in ids}
    if not sent:
        return set()
    sent_clusters = set(session.execute(select(Article.cluster_id).where(
        Article.id.in_(sent), Article.cluster_id.is_not(None))).scalars())
    repeats = set(session.execute(select(Article.id).where(
        Article.id.in_(candidates), Article.cluster_id.in_(sent_clusters))).scalars()) if sent_clusters else set()
    return (sent & set(candidates)) | repeats


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
    message. Stories a recipient got in an earlier run are left out unless `resend`.
    """
    topic_order = [(t.id, t.label) for t in taxonomy.topics]
    now = datetime.now(UTC)
    label = run_label or run_key.split("/", 1)[-1]
    digest_ids: list[int] = []
    with store.session() as s:
        cond = Problem.run_key == run_key
        if problems_since is not None:
            cond = or_(cond, Problem.created_at >= problems_since)
        failures = _summarize_failures(s.execute(select(Problem).where(cond).order_by(Problem.id)).scalars())
    for sub in subscribers:
        with store.session() as s:
            existing = s.execute(select(Digest).where(Digest.run_key == run_key,
                                                      Digest.recipient == sub.email)).scalar_one_or_none()
            if existing is not None:
                digest_ids.append(existing.id)
                continue
            skip = set() if resend else _already_sent(s, sub.email, run_key, article_ids)
            items = _items(s, [a for a in article_ids if a not in skip], algorithm, sub.sentences or sentences)
            groups = select_items(items, sub, topic_order)
            if not groups:
                log.info("no new stories on %s's topics (%s): no digest for them this run%s", sub.email,
                         ", ".join(sub.topics) or "all", "" if resend else " (stories sent before are not repeated)")
                continue
            rendered = render_digest(settings.templates_dir, subscriber=sub, groups=groups, failures=failures,
                                     run_label=label, generated_at=now)
            digest = Digest(run_key=run_key, recipient=sub.email, recipient_name=sub.name,
                            subject=rendered.subject, html=rendered.html, text=rendered.text,
                            article_ids=[i.article_id for g in groups for i in g.items],
                            message_id=message_id(run_key, sub.email), created_at=now)
            s.add(digest)
            s.flush()
            digest_ids.append(digest.id)
            log.info("digest %s for %s: %d stories, %d failed inputs listed", digest.id, sub.email,
                     len(digest.article_ids), len(failures))
    return digest_ids


def deliver(store: Store, settings: Settings, digest_ids: list[int], *, dry_run: bool = False) -> DeliveryReport:
    """Send the digests (SMTP connection or outbox); a dry run writes previews only and records nothing."""
    if dry_run:
        report = DeliveryReport(channel="dry-run")
        preview_dir = Path(settings.outbox_dir) / "dry-run"
        with store.session() as s:
            for digest in s.execute(select(Digest).where(Digest.id.in_(digest_ids))).scalars():
                path = write_outbox(preview_dir, digest, build_message(digest, DEFAULT_SENDER))
                report.locations.append(str(path))
        return report
    target = choose_channel(settings.delivery)
    report = deliver_digests(store, digest_ids, outbox_dir=settings.outbox_dir, target=target)
    return report
