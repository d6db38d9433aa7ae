"""The JSON API under /api/v1: digests, articles, stories (clusters), feeds, topics and search.

Every id and paging parameter is bounded to what the store's integer columns hold, so a wild value is
a 422 naming the parameter rather than a database error; an unknown id is a 404 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from newsbrief.store import Article, Cluster, Delivery, Digest, Feed, Store, Summary, Tag
from newsbrief.web.search import PAGE_SIZE, search

MAX_ID = 2_147_483_647  # PostgreSQL's integer
MAX_OFFSET = 1_000_000
MAX_PAGE = MAX_OFFSET // PAGE_SIZE


def Id(what: str):  # noqa: N802 - reads as a type in signatures
    return Path(..., ge=1, le=MAX_ID, description=f"the {what}'s id")


Limit = Query(50, ge=1, le=500, description="at most this many rows")
Offset = Query(0, ge=0, le=MAX_OFFSET, description="rows to skip")
Since = Query(None, description="published on or after this day (YYYY-MM-DD)")
Until = Query(None, description="published on or before this day (YYYY-MM-DD)")


class DigestOut(BaseModel):
    id: int
    run: str
    recipient: str
    subject: str
    articles: list[int]
    state: str
    created_at: datetime | None


class DigestFull(DigestOut):
    text: str
    html_url: str


class TagOut(BaseModel):
    tag: str
    label: str
    score: float
    evidence: list[str]


class ArticleOut(BaseModel):
    id: int
    title: str
    source: str
    url: str | None
    published_at: datetime | None
    story: int | None


class ArticleFull(ArticleOut):
    language: str | None
    summary: list[str]
    tags: list[TagOut]
    text: str


class StoryOut(BaseModel):
    id: int
    representative: int | None
    articles: list[ArticleOut]
    sources: list[str]


class FeedOut(BaseModel):
    id: int
    name: str
    url: str
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    next_attempt_at: datetime | None
    entries: int


class HitOut(BaseModel):
    id: int
    title: str
    source: str
    why: list[str]


class SearchOut(BaseModel):
    total: int
    page: int
    pages: int
    hits: list[HitOut]


class TopicOut(BaseModel):
    id: str
    label: str
    articles: int


def found(session, model, key: int):
    """The row, or a 404 naming what is missing ("no article 7"); the pages and the API share it."""
    row = session.get(model, key)
    if row is None:
        raise HTTPException(404, f"no {model.__name__.lower()} {key}")
    return row


def _article(a: Article) -> ArticleOut:
    return ArticleOut(id=a.id, title=a.title, source=a.source, url=a.url, published_at=a.published_at,
                      story=a.cluster_id)


def _digest(d: Digest, dl: Delivery | None) -> dict:
    return {"id": d.id, "run": d.run_key, "recipient": d.recipient, "subject": d.subject,
            "articles": d.article_ids or [], "state": dl.status if dl else "not sent", "created_at": d.created_at}


def api_router(store: Callable[[], Store], topics: Callable[[], list]) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["api"])

    @api.get("/digests", response_model=list[DigestOut], summary="Digests, newest first, with their delivery state")
    def digests(limit: int = Limit, offset: int = Offset):
        with store().session() as s:
            rows = s.execute(select(Digest, Delivery).outerjoin(Delivery, Delivery.digest_id == Digest.id)
                             .order_by(Digest.id.desc()).limit(limit).offset(offset)).all()
            return [_digest(d, dl) for d, dl in rows]

    @api.get("/digests/{digest_id}", response_model=DigestFull, summary="One digest as sent (plain text part)")
    def digest(digest_id: int = Id("digest")):
        with store().session() as s:
            d = found(s, Digest, digest_id)
            dl = s.execute(select(Delivery).where(Delivery.digest_id == digest_id)).scalar_one_or_none()
            return {**_digest(d, dl), "text": d.text, "html_url": f"/digests/{d.id}/html"}

    @api.get("/articles", response_model=list[ArticleOut], summary="Stored articles, newest first")
    def articles(limit: int = Limit, offset: int = Offset,
                 topic: str | None = Query(None, max_length=80, description="only articles with this tag"),
                 source: str | None = Query(None, max_length=300, description="only this source")):
        with store().session() as s:
            q = select(Article).order_by(Article.id.desc()).limit(limit).offset(offset)
            if topic:
                q = q.where(Article.id.in_(select(Tag.article_id).where(Tag.tag == topic)))
            if source:
                q = q.where(Article.source == source)
            return [_article(a) for a in s.execute(q).scalars()]

    @api.get("/articles/{article_id}", response_model=ArticleFull,
             summary="One article with its summary, tags and evidence sentences")
    def article(article_id: int = Id("article")):
        with store().session() as s:
            a = found(s, Article, article_id)
            tags = s.execute(select(Tag).where(Tag.article_id == article_id).order_by(Tag.score.desc())).scalars()
            summary = s.execute(select(Summary.text).where(Summary.article_id == article_id)
                                .order_by(Summary.id)).scalars().first()
            return {**_article(a).model_dump(), "language": a.language, "summary": summary or [], "text": a.text,
                    "tags": [{"tag": t.tag, "label": t.label, "score": t.score, "evidence": t.evidence or []}
                             for t in tags]}

    def _story(s, cluster: Cluster) -> StoryOut:
        members = list(s.execute(select(Article).where(Article.cluster_id == cluster.id).order_by(Article.id)).scalars())
        return StoryOut(id=cluster.id, representative=cluster.representative_id,
                        articles=[_article(a) for a in members], sources=sorted({a.source for a in members}))

    @api.get("/stories", response_model=list[StoryOut],
             summary="Stories (clusters of articles from several outlets), newest first")
    def stories(limit: int = Limit, offset: int = Offset):
        with store().session() as s:
            rows = s.execute(select(Cluster).order_by(Cluster.id.desc()).limit(limit).offset(offset)).scalars()
            return [_story(s, c) for c in rows]

    @api.get("/stories/{story_id}", response_model=StoryOut, summary="One story and the outlets that reported it")
    def story(story_id: int = Id("story")):
        with store().session() as s:
            row = s.get(Cluster, story_id)
            if row is None:
                raise HTTPException(404, f"no story {story_id}")
            return _story(s, row)

    @api.get("/feeds", response_model=list[FeedOut], summary="Feed health, failing feeds first")
    def feeds():
        with store().session() as s:
            counts = dict(s.execute(select(Article.feed_id, func.count()).where(Article.feed_id.is_not(None))
                                    .group_by(Article.feed_id)).all())
            rows = sorted(s.execute(select(Feed)).scalars(),
                          key=lambda f: (-(f.consecutive_failures or 0), f.name.lower()))
            return [FeedOut(id=f.id, name=f.name, url=f.url, last_status=f.last_status, last_error=f.last_error,
                            consecutive_failures=f.consecutive_failures or 0, last_fetched_at=f.last_fetched_at,
                            last_success_at=f.last_success_at, next_attempt_at=f.next_attempt_at,
                            entries=counts.get(f.id, 0)) for f in rows]

    @api.get("/topics", response_model=list[TopicOut], summary="The taxonomy, with how many articles carry each topic")
    def topic_list():
        with store().session() as s:
            counts = dict(s.execute(select(Tag.tag, func.count()).group_by(Tag.tag)).all())
        return [TopicOut(id=t.id, label=t.label, articles=counts.get(t.id, 0)) for t in topics()]

    @api.get("/search", response_model=SearchOut, summary="Full-text search; each hit says why it matched")
    def api_search(q: str = Query(..., min_length=1, max_length=500, description="words to find"),
                   topic: str | None = Query(None, max_length=80), source: str | None = Query(None, max_length=300),
                   page_no: int = Query(1, alias="page", ge=1, le=MAX_PAGE),
                   since: date | None = Since, until: date | None = Until):
        results = search(store(), q, topic=topic, source=source, page=page_no, since=since, until=until)
        return SearchOut(total=results.total, page=page_no, pages=results.pages,
                         hits=[HitOut(id=h.article_id, title=h.title, source=h.source, why=h.why)
                               for h in results.hits])

    return api
