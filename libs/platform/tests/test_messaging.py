"""Service tests of the messaging plumbing against the real RabbitMQ and PostgreSQL: bounded retries
with backoff through the retry queue, dead-lettering after the last attempt, permanent errors, and the
outbox relay publishing with confirms (and refusing to mark an unroutable event as sent)."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import VideoDeletedV1
from reelhouse.platform.messaging.consumer import HandlerSpec, PermanentError
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.runtime import ServiceDefinition
from reelhouse.platform.testing import EventCapture, publish_event, queue_depth, running_service, wait_until

pytestmark = pytest.mark.service

MIGRATION = '''
import sqlalchemy as sa
from reelhouse.platform.messaging.schema import create_messaging_tables
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
def upgrade():
    create_messaging_tables(__import__("alembic").op)
'''


@pytest.fixture(scope="module")
def migrations_dir():
    d = Path(tempfile.mkdtemp())
    (d / "versions").mkdir()
    (d / "env.py").write_text("from reelhouse.platform.db import run_migrations_online\nrun_migrations_online()\n")
    (d / "versions" / "0001_messaging.py").write_text(MIGRATION)
    return d


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
