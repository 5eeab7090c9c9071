"""Service tests of the messaging plumbing against the real RabbitMQ and PostgreSQL: bounded retries
with backoff through the retry queue, dead-lettering after the last attempt, permanent errors, and the
outbox relay publishing with confirms (and refusing to mark an unroutable event as sent)."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import VideoDeletedV1
from reelhouse.platform.messaging.consumer import HandlerSpec, PermanentError
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.runtime import ServiceDefinition
from reelhouse.testing import EventCapture, publish_event, queue_depth, running_service, wait_until

pytestmark = pytest.mark.service

class Flaky:
    """Fails the first ``failures`` deliveries of each video id, records attempts and their times."""

    def __init__(self, failures: int, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.calls: dict[str, list[tuple[int, float]]] = {}

    async def __call__(self, ctx, event) -> None:  # noqa: ANN001
        key = str(event.video_id)
        self.calls.setdefault(key, []).append((ctx.attempt, time.monotonic()))
        if len(self.calls[key]) <= self.failures:
            if self.permanent:
                raise PermanentError("this can never work")
            raise RuntimeError("transient failure")


def _service(settings, migrations_dir, handler) -> ServiceDefinition:
    return ServiceDefinition(
        name=f"probe{uuid.uuid4().hex[:6]}",
        settings=settings,
        migrations_dir=migrations_dir,
        handlers={VideoDeletedV1.event_type: HandlerSpec(handler)},
    )


def test_failed_handler_is_retried_with_backoff_then_succeeds(platform_settings, migrations_dir):
    handler = Flaky(failures=2)
    defn = _service(platform_settings, migrations_dir, handler)
    with running_service(defn):
        vid = uuid.uuid4()
        publish_event(platform_settings, VideoDeletedV1(video_id=vid))
        wait_until(lambda: len(handler.calls.get(str(vid), [])) == 3, timeout=20, message="three deliveries")
        attempts = handler.calls[str(vid)]
        assert [a for a, _ in attempts] == [1, 2, 3]
        gaps = [b[1] - a[1] for a, b in zip(attempts, attempts[1:], strict=False)]
        base = platform_settings.retry_backoff_seconds
        assert gaps[0] >= base * 0.9 and gaps[1] >= 2 * base * 0.9, gaps  # exponential: base, 2*base
        assert gaps[1] < 10, gaps
        assert queue_depth(platform_settings, defn.queues.dlq) == 0


def test_retries_are_bounded_and_end_in_the_dead_letter_queue(platform_settings, migrations_dir):
    handler = Flaky(failures=99)
    defn = _service(platform_settings, migrations_dir, handler)
    with running_service(defn) as client:
        vid = uuid.uuid4()
        publish_event(platform_settings, VideoDeletedV1(video_id=vid))
        wait_until(lambda: queue_depth(platform_settings, defn.queues.dlq) == 1, timeout=30, message="dead-lettered")
        assert len(handler.calls[str(vid)]) == platform_settings.max_delivery_attempts
        assert client.app.state.consumer.dead_lettered == 1


def test_permanent_error_goes_to_the_dlq_without_retries(platform_settings, migrations_dir):
    handler = Flaky(failures=99, permanent=True)
    defn = _service(platform_settings, migrations_dir, handler)
    with running_service(defn):
        vid = uuid.uuid4()
        publish_event(platform_settings, VideoDeletedV1(video_id=vid))
        wait_until(lambda: queue_depth(platform_settings, defn.queues.dlq) == 1, timeout=15, message="dead-lettered")
        time.sleep(1)
        assert len(handler.calls[str(vid)]) == 1


def test_relay_publishes_outbox_rows_and_keeps_unroutable_ones_unsent(platform_settings, migrations_dir):
    defn = _service(platform_settings, migrations_dir, Flaky(0))
    defn.handlers = {}
    with running_service(defn) as client:
        db = client.app.state.db

        async def _add(payload):
            async with db.session() as s:
                return await add_event(s, payload, "/test")

        async def _sent(event_id):
            async with db.session() as s:
                row = (await s.execute(text("SELECT sent_at, attempts, last_error FROM outbox WHERE event_id = :e"), {"e": event_id})).one()
                return row

        vid = uuid.uuid4()
        with EventCapture(platform_settings, ["video.deleted.v1"]) as cap:
            env = client.portal.call(_add, VideoDeletedV1(video_id=vid))
            got = cap.wait_for(lambda e: e["id"] == env.id)
        assert got[0]["data"]["videoId"] == str(vid)
        assert client.portal.call(_sent, env.id).sent_at is not None
        # nobody is bound to video.deleted.v1 any more: the publish is returned, the row stays unsent
        env2 = client.portal.call(_add, VideoDeletedV1(video_id=uuid.uuid4()))
        row = wait_until(lambda: (r := client.portal.call(_sent, env2.id)).attempts >= 1 and r, timeout=15, message="a publish attempt")
        assert row.sent_at is None and "NO_ROUTE" in (row.last_error or "")


def test_pruner_deletes_old_sent_outbox_rows_and_old_inbox_rows_only(platform_settings, migrations_dir):
    """Issue 10 item 7: sent outbox rows and inbox rows past their retention are deleted by the service's
    periodic pruner; recent rows and unsent rows (events still to publish), however old, stay."""
    settings = platform_settings.model_copy(
        update={"outbox_retention_seconds": 3600, "inbox_retention_seconds": 3600, "messaging_prune_interval_seconds": 0.2}
    )
    defn = _service(settings, migrations_dir, Flaky(0))
    defn.handlers = {}
    defn.run_relay = False  # keep the unsent row unsent
    with running_service(defn) as client:
        db = client.app.state.db

        async def _seed():
            async with db.session() as s:
                for name, created, sent in [
                    ("old-sent", "2 days", "2 days"),
                    ("recent-sent", "2 days", "10 minutes"),
                    ("old-unsent", "30 days", None),
                ]:
                    await s.execute(
                        text(
                            "INSERT INTO outbox (event_id, event_type, routing_key, envelope, created_at, sent_at) "
                            "VALUES (gen_random_uuid(), :n, 'x', '{}'::jsonb, now() - CAST(:c AS interval), "
                            "now() - CAST(:s AS interval))"
                        ),
                        {"n": name, "c": created, "s": sent},
                    )
                for name, age in [("old", "2 days"), ("recent", "10 minutes")]:
                    await s.execute(
                        text(
                            "INSERT INTO inbox (consumer, event_id, event_type, processed_at) "
                            "VALUES ('c', :n, 'x', now() - CAST(:a AS interval))"
                        ),
                        {"n": name, "a": age},
                    )

        async def _left():
            async with db.session() as s:
                out = (await s.execute(text("SELECT event_type FROM outbox ORDER BY event_type"))).scalars().all()
                inb = (await s.execute(text("SELECT event_id FROM inbox ORDER BY event_id"))).scalars().all()
                return out, inb

        client.portal.call(_seed)
        wait_until(lambda: client.portal.call(_left) == (["old-unsent", "recent-sent"], ["recent"]), timeout=10, message="pruned")
        time.sleep(0.5)  # later passes keep what must stay
        assert client.portal.call(_left) == (["old-unsent", "recent-sent"], ["recent"])
        assert client.app.state.pruner.deleted_outbox == 1 and client.app.state.pruner.deleted_inbox == 1
