"""The summary stage: each article's summary for an algorithm and length, computed once and stored.

Before summarizing, each article's lines and sentences are recorded per source (`template_lines`), so a
line that recurs across a source's articles (a feed's sign-up prompt, a blog's "The post ... appeared
first on ...", a series intro) is learned as that source's furniture and never becomes a summary
sentence; the tagger can ask for the same set with `template_keys`. Only a source's newest
`TEMPLATE_WINDOW` articles are kept.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from newsbrief.store import Article, Store, Summary, TemplateLine
from newsbrief.store.inserts import insert_new
from newsbrief.text.furniture import TEMPLATE_MIN_ARTICLES, Body, template_candidates
from newsbrief.text.summarize import DEFAULT_ALGORITHM, summarize

log = logging.getLogger(__name__)

BATCH = 500


def batches(ids: list[int], size: int = BATCH):
    """The ids in order, each once, in chunks: one query and one transaction per chunk, not per article."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start:start + size]


def load_rows(session, ids: list[int], *columns) -> list:
    """Plain rows of these article columns (`Article.id` among them) for these ids, in the order given, in one
    query (no ORM objects); an id no longer stored is logged and skipped."""
    return in_order(ids, {row.id: row for row in session.execute(select(*columns).where(Article.id.in_(ids)))})


def in_order(ids: list[int], by_id: dict) -> list:
    """`by_id`'s rows in the order of `ids`; the ids it lacks (articles deleted since) are logged and skipped."""
    missing = [i for i in ids if i not in by_id]
    if missing:
        log.warning("articles %s are no longer in the store: skipped", ", ".join(map(str, missing)))
    return [by_id[i] for i in ids if i in by_id]


def source_key(article: Article) -> str:
    """The source whose template an article shares: its feed, else the site (host of its URL, or the
    folder of a seed file)."""
    if article.source_kind == "feed" and article.origin:
        return "feed:" + article.origin
    if article.url:
        return "site:" + (urlsplit(article.url).hostname or article.url)
    return "site:" + (article.origin or article.source).rsplit("/", 1)[0]


TEMPLATE_WINDOW = 200
"""Template lines are kept for a source's newest this-many articles (by id, i.e. in the order they were
stored), so the store stays bounded (about 30 keys an article) and a template is what the source repeats
now: its furniture recurs in nearly every item, so three of the last 200 is always met, while a real
sentence must recur in three stories of that window to be taken for template text (two quoting it never
suffice; see `TEMPLATE_MIN_ARTICLES`)."""


def _cutoff(session, source: str, window: int) -> int | None:
    """The oldest article id in the source's window, None while it holds fewer than `window` articles."""
    return session.execute(select(TemplateLine.article_id).where(TemplateLine.source == source).distinct()
                           .order_by(TemplateLine.article_id.desc()).offset(window - 1).limit(1)).scalar()


_SOURCE_COLUMNS = (Article.id, Article.source_kind, Article.origin, Article.url, Article.source)


def learn_templates(session, ids: list[int], window: int = TEMPLATE_WINDOW) -> dict[int, Body]:
    """Record the line and sentence keys of the articles not yet recorded (idempotent per article), in one
    insert, then drop the keys of articles that fell out of their source's window. An article older than
    its source's full window is not read: its keys would be dropped at once, so a re-run reads no text.
    Returns the parsed bodies of the articles read, for their summaries."""
    if not ids:
        return {}
    known = set(session.execute(select(TemplateLine.article_id).where(TemplateLine.article_id.in_(ids))
                                .distinct()).scalars())
    fresh = [i for i in ids if i not in known]
    if not fresh:
        return {}
    sources = {row.id: source_key(row) for row in session.execute(select(*_SOURCE_COLUMNS)
                                                                   .where(Article.id.in_(fresh)))}
    cutoffs = {source: _cutoff(session, source, window) for source in sorted(set(sources.values()))}
    read = [i for i in fresh if i in sources and (cutoffs[sources[i]] is None or i >= cutoffs[sources[i]])]
    bodies = {row.id: Body(row.text, row.title) for row in session.execute(
        select(Article.id, Article.title, Article.text).where(Article.id.in_(read)))} if read else {}
    insert_new(session, TemplateLine.__table__, [{"source": sources[i], "key": key, "article_id": i}
                                       for i in read for key in sorted(template_candidates(bodies[i]))])
    grown = {sources[i] for i in read}
    for source, cutoff in cutoffs.items():
        if source in grown:
            cutoff = _cutoff(session, source, window)
        if cutoff is not None:
            session.execute(delete(TemplateLine).where(TemplateLine.source == source,
                                                       TemplateLine.article_id < cutoff))
    return bodies


def template_keys(session, source: str) -> frozenset[str]:
    """The learned template keys of a source (`source_key`): lines and sentences seen in at least
    `TEMPLATE_MIN_ARTICLES` of its articles. Compare with `newsbrief.text.furniture.template_key(text,
    title)`; such text is never a summary sentence and should never be tag evidence."""
    rows = session.execute(select(TemplateLine.key).where(TemplateLine.source == source)
                           .group_by(TemplateLine.key)
                           .having(func.count(func.distinct(TemplateLine.article_id)) >= TEMPLATE_MIN_ARTICLES))
    return frozenset(rows.scalars())


KEEP_PARSED = 20_000
"""Bodies parsed while learning templates are kept for the summaries up to this many articles (tens of
MB); beyond it a summary parses its article again."""


def summarize_articles(store: Store, article_ids: list[int], *, algorithm: str = DEFAULT_ALGORITHM,
                       sentences: int = 3, batch: int = BATCH) -> list[int]:
    """Learn the template lines of every article first, then compute (or keep) each summary: one query
    and one transaction per batch of ids, bulk inserts; an article summarized before is not read."""
    parsed: dict[int, Body] = {}
    for ids in batches(article_ids, batch):
        with store.session() as s:
            bodies = learn_templates(s, ids)
        if len(parsed) + len(bodies) <= KEEP_PARSED:
            parsed.update(bodies)
    templates: dict[str, frozenset[str]] = {}
    for ids in batches(article_ids, batch):
        with store.session() as s:
            known = set(s.scalars(select(Summary.article_id).where(
                Summary.article_id.in_(ids), Summary.algorithm == algorithm, Summary.sentences == sentences)))
            todo = [i for i in ids if i not in known]
            if not todo:
                continue
            rows = []
            for article in _summary_inputs(s, todo, parsed):
                source = source_key(article)
                if source not in templates:
                    templates[source] = template_keys(s, source)
                body = parsed.pop(article.id, None) or Body(article.text, article.title)
                rows.append({"article_id": article.id, "algorithm": algorithm, "sentences": sentences,
                             "text": _summary_text(article, body, algorithm, sentences, templates[source])})
            insert_new(s, Summary.__table__, rows)
    return article_ids


def _summary_inputs(session, ids: list[int], parsed: dict[int, Body]) -> list:
    """The rows (source columns, and text and title unless already parsed) of these ids in the order given;
    an id no longer stored is logged and skipped."""
    again = [i for i in ids if i not in parsed]
    by_id = {row.id: row for row in session.execute(select(*_SOURCE_COLUMNS).where(
        Article.id.in_([i for i in ids if i in parsed])))}
    if again:
        by_id.update((row.id, row) for row in session.execute(
            select(*_SOURCE_COLUMNS, Article.title, Article.text).where(Article.id.in_(again))))
    return in_order(ids, by_id)


def _summary_text(article, body: Body, algorithm: str, sentences: int, templates: frozenset[str]) -> list[str]:
    text = summarize(body, sentences=sentences, algorithm=algorithm, templates=templates)
    if not text:
        log.warning("article %s (%s) has no sentence to summarize", article.id, article.origin)
    return text


def stored_summary(session, article: Article, algorithm: str, sentences: int,
                   templates: frozenset[str] | None = None) -> list[str]:
    row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                Summary.sentences == sentences)).scalar_one_or_none()
    if row is None:
        if templates is None:
            templates = template_keys(session, source_key(article))
        insert_new(session, Summary, [{"article_id": article.id, "algorithm": algorithm, "sentences": sentences,
                                       "text": _summary_text(article, Body(article.text, article.title), algorithm,
                                                             sentences, templates)}])
        row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                    Summary.sentences == sentences)).scalar_one()
    return list(row.text)
