"""schemathesis against the app's own OpenAPI document: no input it can generate gives a 5xx.

Every operation is exercised (the JSON API, the pages, the signed subscriber links and their forms)
over a store the real stages filled, plus the API's declared response schemas on success."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from newsbrief.web.app import create_app
from tests.web.filled import filled_store


@pytest.fixture
def app_schema(project, monkeypatch):
    f = filled_store(monkeypatch)
    store = f.store
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(f.settings.store_url))
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
