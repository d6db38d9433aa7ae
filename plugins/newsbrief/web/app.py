"""The web app over the store: digests as sent, stories with their evidence, search, feed health,
and the signed preference and one-click unsubscribe pages (RFC 8058).

`create_app()` builds the same FastAPI app for `newsbrief web` (uvicorn on loopback) and for an Airflow
plugin. Pages are server-rendered jinja2 with autoescaping, so no text from a feed runs as script.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Sequence
from contextvars import ContextVar
from html import escape
from typing import Any

import jinja2
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsbrief.config.settings import load_settings
from newsbrief.digest.links import InvalidToken, load_link_settings, read_token
from newsbrief.digest.preferences import preferences, save_preferences, unsubscribe
from newsbrief.store import Article, Delivery, Digest, Feed, Store, Summary, Tag, open_store
from newsbrief.web.search import PAGE_SIZE, search

# Pages a subscriber reaches from an email link: the signed token in the URL is their authentication,
# so neither NEWSBRIEF_WEB_TOKEN nor Airflow's login guards them (RFC 8058 one-click needs no login).
SIGNED_LINK_PATHS = ("/unsubscribe/", "/preferences/")

_ROOT = ContextVar("newsbrief_web_root", default="")


def route_path(request: Request) -> str:
    """The path inside the app, without the prefix it is mounted under (`/newsbrief` on Airflow)."""
    root, path = request.scope.get("root_path", ""), request.scope["path"]
    return (path[len(root):] or "/") if root and path.startswith(root + "/") else path


class _RootPath:
    """Keeps the mount prefix for the request, so that every page's links (``{{ root }}/search``) work both
    standalone and under Airflow's plugin prefix without each handler passing the request along."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        token = _ROOT.set(scope.get("root_path", "").rstrip("/")) if scope["type"] == "http" else None
        try:
            await self.app(scope, receive, send)
        finally:
            if token is not None:
                _ROOT.reset(token)


def _highlight(text: str, sentences: list[str]) -> Markup:
    """The article text, escaped, with each evidence sentence wrapped in <mark>."""
    out = escape(text)
    for sentence in sorted({s for s in sentences if s}, key=len, reverse=True):
        out = out.replace(escape(sentence), f"<mark>{escape(sentence)}</mark>")
    return Markup(out)


def _found(session, model, key: int):
    """The row, or a 404 naming what is missing ("no article 7")."""
    row = session.get(model, key)
    if row is None:
        raise HTTPException(404, f"no {model.__name__.lower()} {key}")
    return row


def create_app(store_url: str | None = None, *, root_path: str = "", dependencies: Sequence[Any] = ()) -> FastAPI:
    """``dependencies`` run before every route: the Airflow plugin passes its login check there."""
    app = FastAPI(title="newsbrief", version="1", root_path=root_path, dependencies=list(dependencies),
                  description="The archive of digests, stories, search and feed health of a newsbrief store.")
    app.add_middleware(_RootPath)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(load_settings().templates_dir / "web"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["highlight"] = _highlight
    web_token = os.environ.get("NEWSBRIEF_WEB_TOKEN", "").strip()

    if web_token:
        @app.middleware("http")
        async def _require_token(request: Request, call_next):
            """With NEWSBRIEF_WEB_TOKEN set, every page but the signed subscriber links needs it."""
            if not route_path(request).startswith(SIGNED_LINK_PATHS):
                given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
                    or request.cookies.get("newsbrief_token", "")
                if not hmac.compare_digest(given, web_token):
                    return JSONResponse({"detail": "send NEWSBRIEF_WEB_TOKEN as 'Authorization: Bearer <token>'"},
                                        status_code=401)
            return await call_next(request)

    def store() -> Store:
        return open_store(store_url)

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(root=_ROOT.get(), **context), status_code=status)

    def declared_emails() -> list[str]:
        from newsbrief.config.subscribers import load_subscribers

        return [s.email for s in load_subscribers(load_settings().subscribers_file)]

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if route_path(request).startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        response = page("error.html.j2", exc.status_code, title=f"{exc.status_code}", message=str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()]
        if route_path(request).startswith("/api/"):
            return JSONResponse({"detail": problems}, status_code=422)
        return page("error.html.j2", 422, title="Bad parameter", message="; ".join(problems))

    @app.get("/", response_class=HTMLResponse, summary="Every digest, newest first, with its delivery state")
    def digests(page_no: int = Query(1, alias="page", ge=1)):
        with store().session() as s:
            rows = s.execute(select(Digest, Delivery).outerjoin(Delivery, Delivery.digest_id == Digest.id)
                             .order_by(Digest.created_at.desc(), Digest.id.desc())
                             .limit(PAGE_SIZE + 1).offset((page_no - 1) * PAGE_SIZE)).all()
        return page("digests.html.j2", rows=rows[:PAGE_SIZE], page=page_no, more=len(rows) > PAGE_SIZE)

    @app.get("/digests/{digest_id}", response_class=HTMLResponse, summary="One digest as it was sent")
    def digest(digest_id: int):
        with store().session() as s:
            row = _found(s, Digest, digest_id)
            delivery = s.execute(select(Delivery).where(Delivery.digest_id == digest_id)).scalar_one_or_none()
        return page("digest.html.j2", digest=row, delivery=delivery)

    @app.get("/digests/{digest_id}/html", summary="The digest's HTML part, shown sandboxed")
    def digest_html(digest_id: int):
        with store().session() as s:
            row = _found(s, Digest, digest_id)
            html = row.html
        return Response(html, media_type="text/html",
                        headers={"Content-Security-Policy": "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"})

    @app.get("/articles/{article_id}", response_class=HTMLResponse, summary="A story: summary, tags, evidence")
    def article(article_id: int):
        with store().session() as s:
            row = _found(s, Article, article_id)
            tags = list(s.execute(select(Tag).where(Tag.article_id == article_id).order_by(Tag.score.desc())).scalars())
            summary = s.execute(select(Summary).where(Summary.article_id == article_id)
                                .order_by(Summary.id)).scalars().first()
            others = [] if row.cluster_id is None else list(s.execute(
                select(Article).where(Article.cluster_id == row.cluster_id, Article.id != row.id)
                .order_by(Article.id)).scalars())
        evidence = [e for t in tags for e in (t.evidence or [])]
        return page("article.html.j2", article=row, tags=tags, summary=summary.text if summary else [],
                    others=others, evidence=evidence)

    @app.get("/search", response_class=HTMLResponse, summary="Full-text search over stored articles")
    def search_page(q: str = Query("", max_length=500), topic: str | None = Query(None, max_length=80),
                    source: str | None = Query(None, max_length=300), page_no: int = Query(1, alias="page", ge=1)):
        results = search(store(), q, topic=topic, source=source, page=page_no) if q.strip() else None
        return page("search.html.j2", q=q, topic=topic or "", source=source or "", results=results, page=page_no)

    @app.get("/feeds", response_class=HTMLResponse, summary="Feed health, failing feeds first")
    def feeds():
        with store().session() as s:
            counts = dict(s.execute(select(Article.feed_id, func.count()).where(Article.feed_id.is_not(None))
                                    .group_by(Article.feed_id)).all())
            rows = list(s.execute(select(Feed)).scalars())
        rows.sort(key=lambda f: (-(f.consecutive_failures or 0), f.name.lower()))
        return page("feeds.html.j2", feeds=rows, counts=counts)

    def _token(token: str) -> tuple[str, str]:
        try:
            return read_token(token, declared_emails(), settings=load_link_settings())
        except InvalidToken as exc:
            raise HTTPException(403, f"This link does not work: {exc.reason}. Use the link in your most recent "
                                     "digest, or ask the sender to resend it.") from None

    @app.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="Confirm unsubscribing")
    def unsubscribe_page(token: str):
        email, _ = _token(token)
        return page("unsubscribe.html.j2", email=email, token=token, done=False)

    @app.post("/unsubscribe/{token}", response_class=HTMLResponse,
              summary="Unsubscribe (RFC 8058 one-click: body List-Unsubscribe=One-Click; no login, no redirect)")
    def unsubscribe_post(token: str, list_unsubscribe: str | None = Form(None, alias="List-Unsubscribe")):
        email, _ = _token(token)
        unsubscribe(store(), email)
        return page("unsubscribe.html.j2", email=email, token=token, done=True)

    @app.get("/preferences/{token}", response_class=HTMLResponse, summary="A subscriber's preferences")
    def preferences_page(token: str):
        email, _ = _token(token)
        from newsbrief.tagging import load_taxonomy

        taxonomy = load_taxonomy(load_settings().topics_file)
        pref = preferences(store()).get(email.lower())
        return page("preferences.html.j2", email=email, token=token, topics=taxonomy.topics, pref=pref, saved=False)

    @app.post("/preferences/{token}", response_class=HTMLResponse, summary="Save a subscriber's preferences")
    async def preferences_post(token: str, request: Request):
        email, _ = _token(token)
        from newsbrief.tagging import load_taxonomy

        taxonomy = load_taxonomy(load_settings().topics_file)
        form = await request.form()
        known = {t.id for t in taxonomy.topics}
        chosen = [t for t in form.getlist("topics") if t in known]
        def number(name: str, low: int, high: int) -> int | None:
            raw = str(form.get(name) or "").strip()
            if not raw:
                return None
            if not re.fullmatch(r"\d{1,3}", raw) or not low <= int(raw) <= high:
                raise HTTPException(422, f"{name}: a whole number from {low} to {high}")
            return int(raw)
        save_preferences(store(), email, topics=chosen or None, sentences=number("sentences", 1, 10),
                         max_items=number("max_items", 1, 100), subscribed=form.get("subscribed") == "yes")
        pref = preferences(store()).get(email.lower())
        return page("preferences.html.j2", email=email, token=token, topics=taxonomy.topics, pref=pref, saved=True)

    @app.get("/api/v1/digests", summary="Digests with their delivery state (JSON)")
    def api_digests(limit: int = Query(50, ge=1, le=500)):
        with store().session() as s:
            rows = s.execute(select(Digest, Delivery).outerjoin(Delivery, Delivery.digest_id == Digest.id)
                             .order_by(Digest.id.desc()).limit(limit)).all()
            return [{"id": d.id, "run": d.run_key, "recipient": d.recipient, "subject": d.subject,
                     "articles": d.article_ids, "state": dl.status if dl else "not sent"} for d, dl in rows]

    @app.get("/api/v1/articles/{article_id}", summary="One article with its tags and evidence (JSON)")
    def api_article(article_id: int):
        with store().session() as s:
            row = _found(s, Article, article_id)
            tags = s.execute(select(Tag).where(Tag.article_id == article_id)).scalars()
            return {"id": row.id, "title": row.title, "source": row.source, "url": row.url,
                    "cluster": row.cluster_id,
                    "tags": [{"tag": t.tag, "score": t.score, "evidence": t.evidence} for t in tags]}

    @app.get("/api/v1/search", summary="Full-text search (JSON)")
    def api_search(q: str = Query(..., min_length=1, max_length=500), topic: str | None = None,
                   source: str | None = None, page_no: int = Query(1, alias="page", ge=1)):
        results = search(store(), q, topic=topic, source=source, page=page_no)
        return {"total": results.total, "page": page_no,
                "hits": [{"id": h.article_id, "title": h.title, "source": h.source, "why": h.why} for h in results.hits]}

    return app
