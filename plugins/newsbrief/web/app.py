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
from datetime import date
from html import escape
from typing import Any
from xml.etree import ElementTree as ET

import jinja2
from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsbrief.config.settings import load_settings
from newsbrief.digest.links import ALERTS, ALL, InvalidToken, load_link_settings, make_token, read_token
from newsbrief.digest.preferences import mute_alerts, preferences, save_preferences, unsubscribe
from newsbrief.store import Article, Delivery, Digest, Feed, Store, Summary, Tag, open_store
from newsbrief.web.api import MAX_PAGE, Id, api_router, found
from newsbrief.web.opml import MAX_OPML_BYTES
from newsbrief.web.search import PAGE_SIZE, search

# Pages a subscriber reaches from an email link or a feed reader: the signed token in the URL is their
# authentication, so neither NEWSBRIEF_WEB_TOKEN nor Airflow's login guards them (RFC 8058 one-click
# needs no login).
SIGNED_PREFIXES = ("/unsubscribe/", "/preferences/", "/alerts/")
_ROOT = ContextVar("newsbrief_web_root", default="")
RECENT_PER_TOPIC = 5
TOPICS_FIELD = Form(None, alias="alert_topics", description="topic ids the alert is about (any of them)")
OPML_FILE = File(..., description="an OPML subscription list (what feed readers export)")


def _highlight(text: str, sentences: list[str]) -> Markup:
    """The article text, escaped, with each evidence sentence wrapped in <mark>."""
    out = escape(text)
    for sentence in sorted({s for s in sentences if s}, key=len, reverse=True):
        out = out.replace(escape(sentence), f"<mark>{escape(sentence)}</mark>")
    return Markup(out)


def _day(name: str, raw: str) -> date | None:
    """A form's date field: empty means no bound (what an untouched <input type=date> sends)."""
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise HTTPException(422, f"{name}: a date as YYYY-MM-DD, got {raw!r}") from None


def _alert_of(scope: str) -> str | None:
    """The alert id of an "alert:<id>" link scope, "*" for all alerts; None for the whole subscription."""
    return None if scope == ALL else "*" if scope == ALERTS else scope.removeprefix("alert:")


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
            if not route_path(request).startswith(SIGNED_PREFIXES):
                given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
                    or request.cookies.get("newsbrief_token", "")
                if not hmac.compare_digest(given, web_token):
                    return JSONResponse({"detail": "send NEWSBRIEF_WEB_TOKEN as 'Authorization: Bearer <token>'"},
                                        status_code=401)
            return await call_next(request)

    def store() -> Store:
        return open_store(store_url)

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        context.setdefault("root", _ROOT.get())
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    parsed: dict = {}

    def as_on_disk(path, load):
        """`load(path)`, parsed again only when the file changed: a page asks for the subscribers and the
        taxonomy several times, and parsing topics.yaml costs about 0.1 s."""
        try:
            st = os.stat(path)
        except OSError:
            return load(path)
        key = (load, str(path), st.st_mtime_ns, st.st_size)
        if key not in parsed:
            if len(parsed) > 8:
                parsed.clear()
            parsed[key] = load(path)
        return parsed[key]

    def declared():
        from newsbrief.config.subscribers import load_subscribers

        return as_on_disk(load_settings().subscribers_file, load_subscribers)

    def declared_emails() -> list[str]:
        return [s.email for s in declared()]

    def taxonomy():
        from newsbrief.tagging import load_taxonomy

        return as_on_disk(load_settings().topics_file, load_taxonomy)

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
    def digests(page_no: int = Query(1, alias="page", ge=1, le=MAX_PAGE)):
        with store().session() as s:
            rows = s.execute(select(Digest, Delivery).outerjoin(Delivery, Delivery.digest_id == Digest.id)
                             .order_by(Digest.created_at.desc(), Digest.id.desc())
                             .limit(PAGE_SIZE + 1).offset((page_no - 1) * PAGE_SIZE)).all()
        return page("digests.html.j2", rows=rows[:PAGE_SIZE], page=page_no, more=len(rows) > PAGE_SIZE)

    @app.get("/digests/{digest_id}", response_class=HTMLResponse, summary="One digest as it was sent")
    def digest(digest_id: int = Id("digest")):
        with store().session() as s:
            row = found(s, Digest, digest_id)
            delivery = s.execute(select(Delivery).where(Delivery.digest_id == digest_id)).scalar_one_or_none()
        return page("digest.html.j2", digest=row, delivery=delivery)

    @app.get("/digests/{digest_id}/html", summary="The digest's HTML part, shown sandboxed")
    def digest_html(digest_id: int = Id("digest")):
        with store().session() as s:
            row = found(s, Digest, digest_id)
            html = row.html
        return Response(html, media_type="text/html",
                        headers={"Content-Security-Policy": "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"})

    @app.get("/articles/{article_id}", response_class=HTMLResponse, summary="A story: summary, tags, evidence")
    def article(article_id: int = Id("article")):
        with store().session() as s:
            row = found(s, Article, article_id)
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
                    source: str | None = Query(None, max_length=300), page_no: int = Query(1, alias="page", ge=1, le=MAX_PAGE),
                    since: str = Query("", max_length=10, description="published on or after (YYYY-MM-DD; empty: any)"),
                    until: str = Query("", max_length=10, description="published on or before (YYYY-MM-DD; empty: any)")):
        first, last = _day("since", since), _day("until", until)
        results = (search(store(), q, topic=topic, source=source, page=page_no, since=first, until=last)
                   if q.strip() else None)
        return page("search.html.j2", q=q, topic=topic or "", source=source or "", results=results, page=page_no,
                    since=first.isoformat() if first else "", until=last.isoformat() if last else "")

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

    def alert_rows(email: str, root: str) -> list[dict]:
        """The subscriber's alerts (declared, or added with `newsbrief alerts add`), each with its state and its
        own signed links."""
        from newsbrief.alerts.subscriptions import active_alerts

        links = load_link_settings()
        sub = [x for x in declared() if x.email.lower() == email.lower()]
        pref = preferences(store()).get(email.lower())
        muted = set(pref.muted_alerts or []) if pref else set()
        rows = []
        for active in active_alerts(store(), sub, known_topics={t.id for t in taxonomy().topics}):
            a = active.alert
            token = make_token(email, a.scope, settings=links)
            rows.append({"id": a.id, "what": str(a.query) if a.query else "topics: " + ", ".join(a.topics),
                         "added": active.origin == "store",
                         "frequency": a.frequency.replace("_", " "), "muted": a.id in muted,
                         "unsubscribe": f"{root}/unsubscribe/{token}", "atom": f"{root}/alerts/{token}/atom"})
        return rows

    def preference_page(request: Request, email: str, token: str, *, saved: bool | str = False,
                        status: int = 200, problem: str = "") -> HTMLResponse:
        root = _ROOT.get()
        pref = preferences(store()).get(email.lower())
        return page("preferences.html.j2", status, email=email, token=token, topics=taxonomy().topics, pref=pref,
                    saved=saved, alerts=alert_rows(email, root), root=root, problem=problem)

    @app.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="Confirm unsubscribing")
    def unsubscribe_page(token: str, request: Request):
        email, scope = _token(token)
        return page("unsubscribe.html.j2", email=email, token=token, done=False, alert=_alert_of(scope),
                    root=_ROOT.get())

    @app.post("/unsubscribe/{token}", response_class=HTMLResponse,
              summary="Unsubscribe (RFC 8058 one-click: body List-Unsubscribe=One-Click; no login, no redirect)")
    def unsubscribe_post(token: str, request: Request,
                         list_unsubscribe: str | None = Form(None, alias="List-Unsubscribe")):
        email, scope = _token(token)
        alert = _alert_of(scope)
        if alert == "*":
            mute_alerts(store(), email, [a["id"] for a in alert_rows(email, "")])
        elif alert:
            mute_alerts(store(), email, [alert])
        else:
            unsubscribe(store(), email)
        return page("unsubscribe.html.j2", email=email, token=token, done=True, alert=alert,
                    root=_ROOT.get())

    @app.get("/preferences/{token}", response_class=HTMLResponse, summary="A subscriber's preferences and alerts")
    def preferences_page(token: str, request: Request):
        email, _ = _token(token)
        return preference_page(request, email, token)

    @app.post("/preferences/{token}", response_class=HTMLResponse, summary="Save a subscriber's preferences")
    async def preferences_post(token: str, request: Request):
        email, _ = _token(token)
        form = await request.form()
        known = {t.id for t in taxonomy().topics}
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
        return preference_page(request, email, token, saved=True)

    @app.post("/preferences/{token}/alerts", response_class=HTMLResponse,
              summary="Stop or resume one alert (alert=<id>) or all of them (alert=*)")
    def preferences_alerts(token: str, request: Request, alert: str = Form(..., max_length=200),
                           action: str = Form("stop", pattern="^(stop|resume)$")):
        email, _ = _token(token)
        ids = [a["id"] for a in alert_rows(email, "")]
        chosen = ids if alert == "*" else [alert]
        if not set(chosen) <= set(ids):
            raise HTTPException(404, f"no alert {alert!r} for {email}")
        mute_alerts(store(), email, chosen, muted=action == "stop")
        what = "all alerts" if alert == "*" else f"alert {alert!r}"
        return preference_page(request, email, token, saved=f"{what} {'stopped' if action == 'stop' else 'resumed'}")

    @app.post("/preferences/{token}/alerts/new", response_class=HTMLResponse,
              summary="Add an alert (or replace one added here), checked by subscribers.yaml's own rules")
    def preferences_alert_add(token: str, request: Request, alert_id: str = Form(..., alias="id", max_length=64),
                              query: str = Form("", max_length=500), topics: list[str] | None = TOPICS_FIELD,
                              frequency: str = Form("as_it_happens", max_length=20),
                              hour: str = Form("", max_length=2), day: str = Form("", max_length=10),
                              timezone: str = Form("", max_length=64), quality: str = Form("all", max_length=4)):
        from newsbrief.alerts.subscriptions import add_alert
        from newsbrief.errors import ConfigError

        email, _ = _token(token)
        definition = {"query": query.strip() or None, "topics": topics or None, "frequency": frequency,
                      "hour": int(hour) if hour.strip().isdigit() else None, "day": day.strip() or None,
                      "timezone": timezone.strip() or None, "quality": quality}
        try:
            add_alert(store(), declared(), email, alert_id.strip(), definition,
                      known_topics={t.id for t in taxonomy().topics}, replace=alert_id.strip() in
                      {a["id"] for a in alert_rows(email, "") if a["added"]})
        except ConfigError as exc:
            reason = exc.message + (f" (fix: {exc.fix})" if exc.fix else "")
            return preference_page(request, email, token, status=422, problem=f"The alert was not added: {reason}")
        return preference_page(request, email, token, saved=f"alert {alert_id.strip()!r} added")

    @app.post("/preferences/{token}/alerts/remove", response_class=HTMLResponse,
              summary="Remove an alert added here (declared ones are stopped, not removed)")
    def preferences_alert_remove(token: str, request: Request, alert: str = Form(..., max_length=64)):
        from newsbrief.alerts.subscriptions import remove_alert

        email, _ = _token(token)
        if alert not in {a["id"] for a in alert_rows(email, "") if a["added"]}:
            raise HTTPException(404, f"no alert {alert!r} added on the web or the CLI for {email}")
        remove_alert(store(), declared(), email, alert)
        return preference_page(request, email, token, saved=f"alert {alert!r} removed")

    @app.get("/alerts/{token}/atom", summary="An alert as an Atom feed (the signed link from the preferences page)")
    def alert_atom(token: str):
        email, scope = _token(token)
        alert_id = _alert_of(scope)
        from newsbrief.alerts.subscriptions import active_alerts

        sub = [x for x in declared() if x.email.lower() == email.lower()]
        alert = next((active.alert for active in active_alerts(store(), sub, known_topics={t.id for t in taxonomy().topics})
                      if active.alert.id == alert_id), None)
        if alert is None:
            raise HTTPException(404, "this link is not an alert's feed: take the feed link from your preferences page")
        from newsbrief.alerts.delivery import atom_feed

        with store().session() as s:
            body = atom_feed(s, alert)
        return Response(body, media_type="application/atom+xml")

    app.include_router(api_router(store, lambda: taxonomy().topics))
    _extra_pages(app, store, page, taxonomy)

    return app


def _recent(session, topic_id: str, limit: int) -> list[Article]:
    """The newest articles tagged `topic_id`, one per story (a cluster shows once)."""
    newest = func.coalesce(Article.published_at, Article.ingested_at)
    rows = session.execute(select(Article).join(Tag, Tag.article_id == Article.id).where(Tag.tag == topic_id)
                           .order_by(newest.desc(), Article.id.desc()).limit(limit * 4)).scalars()
    out, clusters = [], set()
    for a in rows:
        if a.cluster_id is not None and a.cluster_id in clusters:
            continue
        clusters.add(a.cluster_id)
        out.append(a)
        if len(out) == limit:
            break
    return out


def topic_atom(session, topic, articles: list[Article], *, self_url: str, site: str) -> str:
    """A topic's newest stories as Atom 1.0: title, link, date, summary sentences, tags."""
    ns = "http://www.w3.org/2005/Atom"
    feed = ET.Element("feed", xmlns=ns)
    ET.SubElement(feed, "title").text = f"newsbrief: {topic.label}"
    ET.SubElement(feed, "id").text = f"urn:newsbrief:topic:{topic.id}"
    ET.SubElement(feed, "link", rel="self", href=self_url)
    stamps = [a.published_at or a.ingested_at for a in articles]
    ET.SubElement(feed, "updated").text = max(stamps).isoformat() if stamps else "2020-01-01T00:00:00+00:00"
    for a, stamp in zip(articles, stamps, strict=True):
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "title").text = a.title
        ET.SubElement(entry, "id").text = f"urn:newsbrief:article:{a.id}"
        ET.SubElement(entry, "link", href=a.url or f"{site}/articles/{a.id}")
        ET.SubElement(entry, "updated").text = stamp.isoformat()
        ET.SubElement(entry, "author").append(_text("name", a.source))
        summary = session.execute(select(Summary.text).where(Summary.article_id == a.id)
                                  .order_by(Summary.id)).scalars().first()
        ET.SubElement(entry, "summary").text = " ".join(summary) if summary else (a.feed_summary or a.text[:300])
        for label in session.execute(select(Tag.label).where(Tag.article_id == a.id)).scalars():
            ET.SubElement(entry, "category", term=label)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _text(tag: str, value: str) -> ET.Element:
    el = ET.Element(tag)
    el.text = value
    return el


def _extra_pages(app: FastAPI, store, page, taxonomy) -> None:
    """Topics with their Atom feeds, and OPML export/import of feeds.yaml."""
    from newsbrief.sources.feeds import load_feeds
    from newsbrief.web.opml import export_opml, import_opml

    def topic_or_404(topic_id: str):
        topic = taxonomy().get(topic_id)
        if topic is None:
            raise HTTPException(404, f"no topic {topic_id!r}: see /topics for the taxonomy")
        return topic

    @app.get("/topics", response_class=HTMLResponse, summary="The taxonomy, each topic with its recent stories")
    def topics(request: Request):
        tax = taxonomy()
        with store().session() as s:
            counts = dict(s.execute(select(Tag.tag, func.count()).group_by(Tag.tag)).all())
            recent = {t.id: _recent(s, t.id, RECENT_PER_TOPIC) for t in tax.topics}
        return page("topics.html.j2", topics=tax.topics, recent=recent, counts=counts,
                    root=_ROOT.get())

    @app.get("/topics/{topic_id}", response_class=HTMLResponse, summary="One topic's recent stories")
    def topic_page(topic_id: str, request: Request):
        topic = topic_or_404(topic_id)
        with store().session() as s:
            rows = _recent(s, topic.id, 50)
        return page("topic.html.j2", topic=topic, articles=rows, root=_ROOT.get())

    @app.get("/topics/{topic_id}/atom", summary="One topic's newest stories as an Atom feed")
    def topic_feed(topic_id: str, request: Request):
        topic = topic_or_404(topic_id)
        site = str(request.base_url).rstrip("/")
        with store().session() as s:
            body = topic_atom(s, topic, _recent(s, topic.id, 50), self_url=str(request.url), site=site)
        return Response(body, media_type="application/atom+xml")

    @app.get("/feeds/opml", summary="feeds.yaml's feeds as an OPML file to import in a feed reader")
    def feeds_opml():
        body = export_opml(load_feeds(load_settings().feeds_file))
        return Response(body, media_type="text/x-opml",
                        headers={"Content-Disposition": 'attachment; filename="newsbrief-feeds.opml"'})

    @app.get("/feeds/import", response_class=HTMLResponse, summary="Check an OPML file against feeds.yaml")
    def feeds_import_form(request: Request):
        return page("import.html.j2", report=None, root=_ROOT.get())

    @app.post("/feeds/import", response_class=HTMLResponse,
              summary="Check an OPML file: each outline new, already declared or refused (by line); YAML to paste")
    async def feeds_import(request: Request, opml: UploadFile = OPML_FILE):
        data = await opml.read(MAX_OPML_BYTES + 1)
        report = import_opml(data, load_feeds(load_settings().feeds_file))
        return page("import.html.j2", 422 if report.error else 200, report=report,
                    root=_ROOT.get())
