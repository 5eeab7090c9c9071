"""Drill: a service's event consumer and outbox relay survive a broker restart (``rabbitmqctl stop_app``
then ``start_app`` on a PRIVATE RabbitMQ node started by the fixture; the shared broker is never touched).

Outcomes checked: an event added to the outbox while the broker is down is published once it is back
and consumed by the same running service (its consumer came back by itself); a new event published after
the restart is consumed too, and the event its handler emits reaches the exchange; the outbox drains.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import VideoDeletedV1, VideoRetryRequestedV1
from reelhouse.platform.messaging.consumer import HandlerSpec
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.runtime import ServiceDefinition
from reelhouse.testing import EventCapture, publish_event, running_service, wait_until

pytestmark = [pytest.mark.service, pytest.mark.drill]

def test_consumer_and_relay_resume_after_a_broker_restart(platform_settings, private_rabbitmq, migrations_dir):
    settings = platform_settings.model_copy(update={"amqp_url": private_rabbitmq.url})
    handled: list[str] = []

    async def on_deleted(ctx, event: VideoDeletedV1) -> None:  # noqa: ANN001
        handled.append(str(event.video_id))
        # the handler's own event goes out through the outbox and the relay
        await ctx.publish(VideoRetryRequestedV1(video_id=event.video_id, owner_id="drill"))

    defn = ServiceDefinition(
        name=f"drill{uuid.uuid4().hex[:6]}",
        settings=settings,
        migrations_dir=migrations_dir,
        handlers={VideoDeletedV1.event_type: HandlerSpec(on_deleted)},
    )
    with running_service(defn) as client:
        db = client.app.state.db

        async def _add_to_outbox(payload) -> str:  # noqa: ANN001
            async with db.session() as s:
                return (await add_event(s, payload, "/drill")).id

        async def _unsent() -> int:
            async with db.session() as s:
                return (await s.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))).scalar_one()

        before = uuid.uuid4()
        publish_event(settings, VideoDeletedV1(video_id=before))
        wait_until(lambda: str(before) in handled, 60, message="handled before the outage")

        during_video = uuid.uuid4()
        with private_rabbitmq.outage():
            client.portal.call(_add_to_outbox, VideoDeletedV1(video_id=during_video))
            assert client.portal.call(_unsent) >= 1  # nothing can be published now

        # the relay publishes the row written during the outage once the broker is back; it routes to
        # this service's own (durable) queue, and the consumer, restored by itself, handles it
        wait_until(lambda: str(during_video) in handled, 90, message="the event written during the outage handled")
        after = uuid.uuid4()
        with EventCapture(settings, ["video.retry_requested.v1"]) as cap:
            publish_event(settings, VideoDeletedV1(video_id=after))
            wait_until(lambda: str(after) in handled, 60, message="a new event consumed after the restart")
            got = cap.wait_for(lambda e: e["data"]["videoId"] == str(after), timeout=30)
            assert len(got) == 1  # and the handler's own event went out through the relay
            wait_until(lambda: client.portal.call(_unsent) == 0, 30, message="outbox drained")
