"""newsbrief's web app as Airflow's api-server serves it through the plugin: under /newsbrief, refused to
a caller Airflow does not know, served to one it does, and the signed-link pages open to anyone with a
valid link (subscribers have no Airflow account)."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from newsbrief.digest.links import ALL, LinkSettings, make_token
from tests.integration.topology import Topology

pytestmark = pytest.mark.integration

PREFIX = "/newsbrief"
DECLARED = "editor@example.org"  # a subscriber of config/subscribers.yaml


def get(url: str, **kwargs) -> httpx.Response:
    return httpx.get(url, timeout=30, follow_redirects=False, **kwargs)


def test_the_plugin_is_registered_with_its_app_and_menu_entry(topology: Topology):
    plugins = {p["name"]: p for p in topology.api("GET", "/plugins")["plugins"]}
    assert topology.api("GET", "/plugins/importErrors")["total_entries"] == 0
    newsbrief = plugins["newsbrief"]
    assert [(a["url_prefix"], a["name"]) for a in newsbrief["fastapi_apps"]] == [(PREFIX, "newsbrief")]
    assert [(v["href"], v["destination"]) for v in newsbrief["external_views"]] == [(PREFIX + "/", "nav")]


def test_pages_need_an_airflow_login(topology: Topology):
    base = topology.api_url + PREFIX
    page = get(f"{base}/", headers={"Accept": "text/html"})
    assert page.status_code == 303, page.text[:500]
    assert re.search(r"/auth/login\?next=.*newsbrief", page.headers["location"]), page.headers["location"]
    for path in ("/", "/search?q=ceasefire", "/feeds", "/articles/1", "/api/v1/digests", "/openapi.json", "/docs"):
        refused = get(base + path)
        assert refused.status_code == 401, f"{path} served without a login: {refused.status_code}"
    forged = get(f"{base}/api/v1/digests", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 403


def test_an_airflow_user_gets_the_archive_with_links_under_the_prefix(topology: Topology, store: sa.Engine):
    base = topology.api_url + PREFIX
    with store.connect() as conn:
        subjects = [row[0] for row in conn.execute(sa.text("SELECT subject FROM digests ORDER BY id DESC LIMIT 5"))]
        digests = conn.execute(sa.text("SELECT count(*) FROM digests")).scalar_one()
    for credentials in ({"headers": {"Authorization": f"Bearer {topology.token()}"}},
                        {"cookies": {"_token": topology.token()}}):  # the cookie a UI login sets
        archive = get(f"{base}/", **credentials)
        assert archive.status_code == 200, archive.text[:500]
        assert "<title>" in archive.text and 'href="/newsbrief/search"' in archive.text
    for subject in subjects:
        assert subject in archive.text.replace("&#39;", "'").replace("&amp;", "&")
    links = re.findall(r'href="(/[^"]*)"', archive.text)
    assert links and all(link.startswith(PREFIX + "/") for link in links), links
    auth = {"Authorization": f"Bearer {topology.token()}"}
    for link in sorted(set(links))[:8]:
        assert get(topology.api_url + link, headers=auth).status_code == 200, link
    api = get(f"{base}/api/v1/digests", headers=auth)
    assert api.status_code == 200 and len(api.json()) == min(digests, 50)
    schema = get(f"{base}/openapi.json", headers=auth)
    assert schema.status_code == 200 and "/api/v1/digests" in schema.json()["paths"]
    assert schema.json()["servers"] == [{"url": PREFIX}], "the OpenAPI document must name the mount prefix"


def test_signed_link_pages_need_no_airflow_login(topology: Topology):
    """The token in the link is the subscriber's authentication: no cookie, no JWT, and an RFC 8058
    one-click POST answered 200 without a redirect; a tampered token is refused by the app itself."""
    base = topology.api_url + PREFIX
    settings = LinkSettings(secret=topology.env["NEWSBRIEF_SECRET_KEY"].encode(),
                            public_url=topology.env["NEWSBRIEF_PUBLIC_URL"], mailto=None, max_age_days=180)
    token = make_token(DECLARED, ALL, settings=settings)
    page = get(f"{base}/preferences/{token}")
    assert page.status_code == 200 and DECLARED in page.text
    assert f'action="{PREFIX}/preferences/{token}"' in page.text
    one_click = httpx.post(f"{base}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=30,
                           follow_redirects=False)
    assert one_click.status_code == 200, one_click.text[:500]
    tampered = get(f"{base}/preferences/{token[:-2]}xx")
    assert tampered.status_code == 403 and "does not work" in tampered.text
