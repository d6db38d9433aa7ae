"""The web app as Airflow's api-server serves it: under `/newsbrief`, behind Airflow's own login.

Every Airflow component imports the plugin files (each task process does, for macros), but only the
api-server serves plugin apps: the app, FastAPI and the login check (`web_auth`) are therefore built at
the first request, so a task does not pay for them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

URL_PREFIX = "/newsbrief"


def airflow_app():
    """`newsbrief.web.app.create_app()` with Airflow's login check on every route, the OpenAPI document
    and docs pages included (FastAPI adds those as plain routes, outside the app's dependencies)."""
    from fastapi import Depends
    from starlette.routing import Route

    from newsbrief.orchestration.web_auth import require_airflow_user
    from newsbrief.web.app import create_app

    app = create_app(dependencies=[Depends(require_airflow_user)])
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    for route in [r for r in app.router.routes if type(r) is Route and r.path in docs]:
        app.router.routes.remove(route)
        app.add_api_route(route.path, route.endpoint, methods=["GET"], include_in_schema=False)
    return app


class BuiltOnFirstRequest:
    """An ASGI app that builds ``factory()`` when its first request arrives and then hands every request to it."""

    def __init__(self, factory) -> None:
        self.factory, self.app = factory, None

    async def __call__(self, scope, receive, send) -> None:
        if self.app is None:
            self.app = self.factory()
        await self.app(scope, receive, send)


def menu_href() -> str:
    """The app's address as a browser reaches it: under `[api] base_url`'s path when Airflow has one."""
    from airflow.configuration import conf

    base = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")
    return f"{base}{URL_PREFIX}/"
