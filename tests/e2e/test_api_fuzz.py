"""Fuzzing drill (issue 10, "Drills"): schemathesis generates requests for every operation of the API
document the running stack's edge serves (``/api/openapi.json``, docs/api.md "The API document"),
valid and invalid ones, signed in with a dev token, and sends them through the edge. No answer may be
a 5xx: bad input is a 4xx problem+json, never a crash.

Marked ``drill`` (``make drill``): a few hundred requests against the whole stack.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from reelhouse.platform.auth import issue_token

pytestmark = pytest.mark.drill

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="session")
def api_document(stack):
    """The document exactly as the edge serves it."""
    return schemathesis.openapi.from_url(f"{stack['edge']}/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_document")


@pytest.fixture(scope="session")
def fuzz_token(e2e_settings) -> str:
    return issue_token("fuzz-user", e2e_settings.jwt_secret)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_answer_5xx(case, stack, fuzz_token) -> None:
    try:
        response = case.call(base_url=stack["edge"], headers={"Authorization": f"Bearer {fuzz_token}"}, timeout=30)
    except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError):
        return  # the HTTP client cannot even send it (e.g. a control character in a header): nothing to judge
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/problem+json"), response.text[:200]
