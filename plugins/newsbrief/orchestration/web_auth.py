"""Airflow's login in front of the web app on the api-server (see `web_plugin`).

Airflow mounts plugin apps without authenticating them, so every route gets a dependency that asks
Airflow's auth manager who the caller is (the `Authorization: Bearer` JWT of `POST /auth/token`, or the
`_token` cookie a UI login sets) and whether they may view the Airflow website. The signed-link pages
(`SIGNED_PREFIXES`: unsubscribe, preferences, alert feeds) are exempt: a subscriber has no Airflow account, the
token in the link is their authentication, and an RFC 8058 one-click POST carries no cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from newsbrief.web.app import SIGNED_PREFIXES, route_path

_bearer = HTTPBearer(auto_error=False)


def _wants_page(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and not route_path(request).startswith("/api/") \
        and "text/html" in request.headers.get("accept", "")


async def require_airflow_user(request: Request,
                               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Refuse a caller Airflow does not know (401, or a redirect to Airflow's login for a browser) or
    one it does not let see its website (403)."""
    if route_path(request).startswith(SIGNED_PREFIXES):
        return
    # Imported here, not at module level: every Airflow component loads plugins, only the api-server
    # has an auth manager, and these modules pull in the whole REST API.
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user

    try:
        user = await get_user(request, None, credentials)
    except HTTPException as exc:
        if _wants_page(request) and exc.status_code == 401:
            login = get_auth_manager().get_url_login(next_url=str(request.url))
            raise HTTPException(303, "Log in to Airflow to see newsbrief's pages.", headers={"Location": login}) from None
        raise
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(403, f"Airflow user {user.get_name()!r} may not view the Airflow website, so not "
                                 "newsbrief's pages either; ask an Airflow admin for a role that can.")
