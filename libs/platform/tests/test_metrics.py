"""Service test of the metrics every service exports on /metrics (docs/observability.md), against the
real RabbitMQ and PostgreSQL: HTTP requests per route template, the outbox backlog and its oldest age,
the dead-letter queue's depth and readiness, read from the Prometheus text format as a scraper would."""

from __future__ import annotations

import uuid

import pytest
import structlog
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families

from reelhouse.contracts.events import VideoDeletedV1
from reelhouse.platform.messaging.consumer import HandlerSpec, PermanentError
from reelhouse.platform.runtime import ServiceDefinition
from reelhouse.testing import publish_event, queue_depth, running_service, wait_until

pytestmark = pytest.mark.service


def _samples(client, name: str, **labels: str) -> list[float]:
    text = client.get("/metrics/").text
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                out.append(sample.value)
    return out


def test_requests_outbox_dead_letters_and_readiness_are_exported(platform_settings, migrations_dir, capsys):
    router = APIRouter()

    @router.get("/api/things/{thing_id}")
    async def get_thing(thing_id: str) -> dict:
        structlog.get_logger("test").info("thing.read", thing=thing_id)
        return {"id": thing_id}

    async def refuse(ctx, event: VideoDeletedV1) -> None:  # noqa: ANN001
        raise PermanentError("never")

    name = f"metrics{uuid.uuid4().hex[:6]}"
    settings = platform_settings.model_copy(update={"metrics_interval_seconds": 0.2})
    defn = ServiceDefinition(name=name, settings=settings, migrations_dir=migrations_dir, routers=[router],
                             handlers={VideoDeletedV1.event_type: HandlerSpec(refuse)})
    with running_service(defn) as client:
        for thing in ("a", "b", "c"):
            assert client.get(f"/api/things/{thing}").status_code == 200
        assert client.get("/nowhere").status_code == 404
        # one sample per route template, never per path
        assert _samples(client, "reelhouse_http_requests_total", service=name, route="/api/things/{thing_id}", status="200") == [3.0]
        assert _samples(client, "reelhouse_http_requests_total", service=name, route="unmatched", status="404") == [1.0]
        counts = _samples(client, "reelhouse_http_request_duration_seconds_count", service=name, route="/api/things/{thing_id}")
        assert counts == [3.0]
        assert not [s for s in client.get("/metrics/").text.splitlines() if "/api/things/a" in s]
        # the request id the edge set is on the route's log lines and echoed; one is made when missing
        echoed = client.get("/api/things/d", headers={"X-Request-Id": "edge-req-42"})
        assert echoed.headers["x-request-id"] == "edge-req-42"
        assert "request_id=edge-req-42" in capsys.readouterr().out
        assert len(client.get("/api/things/e", headers={"X-Request-Id": "bad id!"}).headers["x-request-id"]) == 32

        publish_event(platform_settings, VideoDeletedV1(video_id=uuid.uuid4()))
        wait_until(lambda: queue_depth(platform_settings, defn.queues.dlq) == 1, 15, message="dead-lettered")
        wait_until(lambda: _samples(client, "reelhouse_queue_messages", service=name, queue="dlq") == [1.0], 10, 0.2, "the DLQ gauge")
        assert _samples(client, "reelhouse_service_ready", service=name) == [1.0]
        assert _samples(client, "reelhouse_outbox_unsent_events", service=name) == [0.0]
        assert _samples(client, "reelhouse_outbox_oldest_unsent_age_seconds", service=name) == [0.0]
