"""Fuzzing drill (issue 10, "Drills"): schemathesis generates requests for every operation of the API
document the running stack's edge serves (``/api/openapi.json``, docs/api.md "The API document"), ones
the document allows and ones it forbids, signed in with a dev token, and sends them through the edge.
No answer may be a 5xx: bad input is a 4xx problem+json, never a crash.

Marked ``drill`` (``make drill``): about two thousand requests against the whole stack. The operations
are driven with Hypothesis directly (one search per operation and mode) so every operation is tried
even when another fails, and the failures are reported together.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from reelhouse.platform.auth import issue_token

pytestmark = pytest.mark.drill

EXAMPLES = 20
"""Requests per operation and generation mode (positive: valid by the document; negative: not)."""


def _fuzz(operation, mode: GenerationMode, edge: str, token: str) -> str | None:
    """Search ``operation`` in ``mode``; returns a description of the first 5xx found (shrunk), or None."""
    found: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def search(case) -> None:
        try:
            response = case.call(base_url=edge, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError):
            return  # the HTTP client cannot even send it (a control character in a header...): nothing to judge
        if response.status_code >= 500:
            message = f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code} {response.text[:300]}"
            found.append(message)
            raise AssertionError(message)

    try:
        search()
    except AssertionError:
        return found[-1] if found else "failed"
    return None


def test_no_request_makes_the_api_answer_5xx(stack, e2e_settings) -> None:
    edge = stack["edge"]
    schema = schemathesis.openapi.from_url(f"{edge}/api/openapi.json")
    token = issue_token("fuzz-user", e2e_settings.jwt_secret)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40  # the whole document, as served
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _fuzz(operation, mode, edge, token)
            if failure:
                failures.append(failure)
    assert failures == [], "\n".join(failures)
