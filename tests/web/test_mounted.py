"""The web app mounted under a prefix, as Airflow's api-server mounts the plugin at /newsbrief: every
link, form and frame stays under the prefix, and the API still answers JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsbrief.web.app import create_app
from tests.web.filled import filled_store

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"
LINK = re.compile(r'\b(?:href|src|action)="([^"]*)"')


@pytest.fixture
def mounted(project, monkeypatch):
    f = filled_store(monkeypatch)
    settings, store, ids = f.settings, f.store, f.ids
    host = FastAPI()
    host.mount("/newsbrief", create_app(settings.store_url))
    with TestClient(host) as client:
        yield client, ids
    store.dispose()


def local_links(html: str) -> list[str]:
    return [link for link in LINK.findall(html) if not re.match(r"[a-z]+:|#", link)]


def test_every_link_of_every_page_stays_under_the_prefix(mounted):
    client, ids = mounted
    home = client.get("/newsbrief/")
    assert home.status_code == 200
    digest = re.search(r'href="/newsbrief/digests/(\d+)"', home.text).group(1)
    pages = {"/newsbrief/": home, **{path: client.get(path) for path in (
        f"/newsbrief/digests/{digest}", f"/newsbrief/articles/{ids[0]}", "/newsbrief/search?q=ceasefire",
        "/newsbrief/feeds", "/newsbrief/articles/999999")}}
    for path, response in pages.items():
        links = local_links(response.text)
        assert links, f"no links on {path}"
        outside = [link for link in links if not link.startswith("/newsbrief/")]
        assert not outside, f"{path} links outside the prefix: {outside}"
    followed = {link for response in pages.values() for link in local_links(response.text)}
    for link in sorted(followed):
        assert client.get(link).status_code == 200, f"{link} does not work under the prefix"


def test_errors_under_the_prefix_are_json_for_the_api_and_pages_elsewhere(mounted):
    client, _ = mounted
    api = client.get("/newsbrief/api/v1/articles/999999")
    assert api.status_code == 404 and api.json() == {"detail": "no article 999999"}
    bad = client.get("/newsbrief/api/v1/search", params={"q": "x", "page": 0})
    assert bad.status_code == 422 and "page" in bad.json()["detail"][0]
    page = client.get("/newsbrief/search", params={"page": 0})
    assert page.status_code == 422 and "<html" in page.text and 'href="/newsbrief/"' in page.text


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html.j2")), ids=lambda p: p.name)
def test_templates_write_local_links_under_the_mount_prefix(template: Path):
    """A link written "/x" would leave Airflow's /newsbrief prefix; local links start with {{ root }}."""
    absolute = [link for link in LINK.findall(template.read_text()) if link.startswith("/")]
    assert not absolute, f"{template.name}: write {absolute} as {{{{ root }}}}/... so they work under a prefix"
