"""The summary stage: each article's summary for an algorithm and length, computed once and stored.

Before summarizing, each article's lines and sentences are recorded per source (`template_lines`), so a
line that recurs across a source's articles (a feed's sign-up prompt, a blog's "The post ... appeared
first on ...", a series intro) is learned as that source's furniture and never becomes a summary
sentence; the tagger can ask for the same set with `template_keys`.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import func, select

from newsbrief.store import Article, Store, Summary, TemplateLine
from newsbrief.text.furniture import TEMPLATE_MIN_ARTICLES, template_candidates
from newsbrief.text.summarize import DEFAULT_ALGORITHM, summarize

log = logging.getLogger(__name__)


def source_key(article: Article) -> str:
    """The source whose template an article shares: its feed, else the site (host of its URL, or the
    folder of a seed file)."""
    if article.source_kind == "feed" and article.origin:
        return "feed:" + article.origin
    if article.url:
        return "site:" + (urlsplit(article.url).hostname or article.url)
    return "site:" + (article.origin or article.source).rsplit("/", 1)[0]


def learn_templates(session, articles: list[Article]) -> None:
    """Record the line and sentence keys of articles not yet recorded (idempotent per article)."""
    ids = [a.id for a in articles]
    if not ids:
        return
    known = set(session.execute(select(TemplateLine.article_id).where(TemplateLine.article_id.in_(ids))
                                .distinct()).scalars())
    for article in articles:
        if article.id in known:
            continue
        source = source_key(article)
        session.add_all(TemplateLine(source=source, key=key, article_id=article.id)
                        for key in sorted(template_candidates(article.text, article.title)))
    session.flush()


def template_keys(session, source: str) -> frozenset[str]:
    """The learned template keys of a source (`source_key`): lines and sentences seen in at least
    `TEMPLATE_MIN_ARTICLES` of its articles. Compare with `newsbrief.text.furniture.template_key(text,
    title)`; such text is never a summary sentence and should never be tag evidence."""
    rows = session.execute(select(TemplateLine.key).where(TemplateLine.source == source)
                           .group_by(TemplateLine.key)
                           .having(func.count(func.distinct(TemplateLine.article_id)) >= TEMPLATE_MIN_ARTICLES))
    return frozenset(rows.scalars())


def summarize_articles(store: Store, article_ids: list[int], *, algorithm: str = DEFAULT_ALGORITHM,
                       sentences: int = 3) -> list[int]:
    """Learn the batch's template lines, then compute (or keep) each article's summary."""
    with store.session() as s:
        learn_templates(s, [a for a in (s.get(Article, i) for i in article_ids) if a is not None])
    templates: dict[str, frozenset[str]] = {}
    for article_id in article_ids:
        with store.session() as s:
            article = s.get(Article, article_id)
            source = source_key(article)
            if source not in templates:
                templates[source] = template_keys(s, source)
            stored_summary(s, article, algorithm, sentences, templates[source])
    return article_ids


def stored_summary(session, article: Article, algorithm: str, sentences: int,
                   templates: frozenset[str] | None = None) -> list[str]:
    row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                Summary.sentences == sentences)).scalar_one_or_none()
    if row is None:
        if templates is None:
            templates = template_keys(session, source_key(article))
        text = summarize(article.text, title=article.title, sentences=sentences, algorithm=algorithm,
                         templates=templates)
        if not text:
            log.warning("article %s (%s) has no sentence to summarize", article.id, article.origin)
        row = Summary(article_id=article.id, algorithm=algorithm, sentences=sentences, text=text)
        session.add(row)
        session.flush()
    return list(row.text)
