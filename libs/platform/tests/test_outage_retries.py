"""Outages cost time, not data. Service tests against the real RabbitMQ and a real PostgreSQL reached
through a TCP proxy the test can cut (the database "goes away" as in a restart): an event that arrives
while the database is unreachable is retried with a capped backoff well past ``max_delivery_attempts``
and handled once the database is back, never dead-lettered; an event whose dependency never arrives is
retried for ``retry_window_seconds`` and then dead-lettered with a reason an operator can act on.
Unit tests pin the failure classification and the backoff cap."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.engine import make_url

from reelhouse.contracts.events import VideoDeletedV1
from reelhouse.platform.admin import list_dead_letters
from reelhouse.platform.messaging.consumer import (
    EventConsumer,
    HandlerSpec,
    PermanentError,
    RetryLater,
    classify_failure,
)
from reelhouse.platform.runtime import ServiceDefinition
from reelhouse.testing import TcpProxy, publish_event, queue_depth, running_service, wait_until


@pytest.mark.service
@pytest.mark.drill
def test_an_event_during_a_database_outage_is_retried_past_the_attempt_limit_and_handled(platform_settings, migrations_dir):
    name = f"pgout{uuid.uuid4().hex[:6]}"
    server = make_url(platform_settings.postgres_url)
    handled: list[str] = []

    async def handler(ctx, event: VideoDeletedV1) -> None:  # noqa: ANN001 - runs inside the inbox transaction
        handled.append(str(event.video_id))

    with TcpProxy((server.host or "127.0.0.1", server.port or 5432)) as proxy:
        url = server.set(port=proxy.port, database=f"{platform_settings.database_prefix}{name}").render_as_string(hide_password=False)
        settings = platform_settings.model_copy(update={"database_url": url, "retry_backoff_max_seconds": 0.5})
        defn = ServiceDefinition(name=name, settings=settings, migrations_dir=migrations_dir,
                                 handlers={VideoDeletedV1.event_type: HandlerSpec(handler)})
        with running_service(defn) as client:
            consumer: EventConsumer = client.app.state.consumer
            proxy.cut()
            vid = uuid.uuid4()
            publish_event(settings, VideoDeletedV1(video_id=vid))
            # far more deliveries than max_delivery_attempts (3 in tests) fail while the database is away
            wait_until(lambda: consumer.retried >= 3 * settings.max_delivery_attempts, 30, message="retries during the outage")
            assert handled == [] and queue_depth(settings, defn.queues.dlq) == 0
            proxy.restore()
            wait_until(lambda: handled == [str(vid)], 30, message="handled after the database came back")
            assert queue_depth(settings, defn.queues.dlq) == 0 and consumer.dead_lettered == 0


@pytest.mark.service
def test_a_dependency_that_never_arrives_is_dead_lettered_after_the_window(platform_settings, migrations_dir):
    async def handler(ctx, event: VideoDeletedV1) -> None:  # noqa: ANN001
        raise RetryLater("waiting for an event that never comes")

    settings = platform_settings.model_copy(update={"retry_window_seconds": 1.5})
    defn = ServiceDefinition(name=f"dep{uuid.uuid4().hex[:6]}", settings=settings, migrations_dir=migrations_dir,
                             handlers={VideoDeletedV1.event_type: HandlerSpec(handler)})
    with running_service(defn) as client:
        event_id = publish_event(settings, VideoDeletedV1(video_id=uuid.uuid4()))
        wait_until(lambda: queue_depth(settings, defn.queues.dlq) == 1, 30, message="dead-lettered after the window")
        assert client.app.state.consumer.retried >= settings.max_delivery_attempts  # not cut short by the attempt limit
        listed = asyncio.run(list_dead_letters(settings, [defn.name], 10))[defn.name]["messages"]
        assert [(m.message_id, m.reason) for m in listed] == [(event_id, "DEPENDENCY_WINDOW_EXHAUSTED")]


@pytest.mark.unit
def test_failures_are_classified_through_the_cause_chain():
    import psycopg
    from sqlalchemy.exc import OperationalError

    def wrapped(inner: BaseException) -> Exception:
        try:
            try:
                raise inner
            except BaseException as exc:
                raise RuntimeError("handler failed") from exc
        except RuntimeError as outer:
            return outer

    assert classify_failure(PermanentError("x")) == "permanent"
    assert classify_failure(RetryLater("x")) == "dependency"
    assert classify_failure(OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed"))) == "outage"
    assert classify_failure(wrapped(ConnectionRefusedError())) == "outage"
    assert classify_failure(wrapped(TimeoutError())) == "outage"
    assert classify_failure(ValueError("a bug")) == "error"
    assert classify_failure(wrapped(KeyError("a bug"))) == "error"


@pytest.mark.unit
def test_backoff_doubles_and_is_capped():
    consumer = EventConsumer.__new__(EventConsumer)
    consumer.backoff_seconds, consumer.backoff_max_seconds = 1.0, 60.0
    assert [consumer.retry_delay(a) for a in (1, 2, 3, 4, 5, 6, 7, 8, 100)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
