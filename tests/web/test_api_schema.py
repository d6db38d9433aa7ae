"""schemathesis against the app's own OpenAPI document: no input it can generate gives a 5xx.

Every operation is exercised (the JSON API, the pages, the signed subscriber links and their forms)
over a store the real stages filled, plus the API's declared response schemas on success."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from newsbrief.config.settings import load_settings
from newsbrief.config.subscribers import load_subscribers
from newsbrief.digest.build import build_digests
from newsbrief.digest.delivery import deliver
from newsbrief.sources.seed_ingest import ingest_seed_files
from newsbrief.store import Store
from newsbrief.tagging import load_taxonomy
from newsbrief.tagging.stage import tag_articles
from newsbrief.text.stage import summarize_articles
from newsbrief.web.app import create_app


@pytest.fixture
def app_schema(project, monkeypatch):
    monkeypatch.setenv("NEWSBRIEF_DELIVERY", "outbox")
    monkeypatch.delenv("NEWSBRIEF_WEB_TOKEN", raising=False)
    s = load_settings()
    store = Store(s.store_url)
    taxonomy = load_taxonomy(s.topics_file)
    ids = ingest_seed_files(store, s, "run-1").article_ids
    summarize_articles(store, ids)
    tag_articles(store, ids, taxonomy)
    deliver(store, s, build_digests(store, s, "run-1", ids, load_subscribers(s.subscribers_file), taxonomy))
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(s.store_url))
    store.dispose()


def test_no_generated_request_is_a_server_error(app_schema):
    """Each operation in turn, 20 generated requests each (schemathesis's pytest plugin does not load
    under this pytest, so the operations are walked here)."""
    operations = [result.ok() for result in app_schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = case.call()
            checks = [not_a_server_error]
            if case.path.startswith("/api/") and response.status_code == 200:
                checks.append(response_schema_conformance)
            case.validate_response(response, checks=checks)

        check()
