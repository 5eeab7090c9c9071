"""Service test of ``reelhouse-admin dlq list|replay`` against the real RabbitMQ and PostgreSQL: events a
service dead-lettered are listed with their reason without leaving the queue, and a replay (one by id,
then the rest) sends them back to that service, which now handles them; nothing is lost on the way."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from reelhouse.contracts.events import VideoDeletedV1
from reelhouse.platform.admin import app
from reelhouse.platform.messaging.consumer import HandlerSpec, PermanentError
from reelhouse.platform.runtime import ServiceDefinition
from reelhouse.testing import publish_event, queue_depth, running_service, wait_until

pytestmark = pytest.mark.service

def test_dead_letters_are_listed_and_replayed(platform_settings, migrations_dir):
    broken = [True]
    handled: list[str] = []

    async def handler(ctx, event: VideoDeletedV1) -> None:  # noqa: ANN001
        if broken[0]:
            raise PermanentError("the handler cannot take this yet")
        handled.append(str(event.video_id))

    name = f"admin{uuid.uuid4().hex[:6]}"
    defn = ServiceDefinition(name=name, settings=platform_settings, migrations_dir=migrations_dir,
                             handlers={VideoDeletedV1.event_type: HandlerSpec(handler)})
    cli = CliRunner()
    opts = ["--service", name, "--amqp-url", platform_settings.amqp_url, "--queue-prefix", platform_settings.queue_prefix]
    with running_service(defn):
        videos = [uuid.uuid4(), uuid.uuid4()]
        ids = [publish_event(platform_settings, VideoDeletedV1(video_id=v)) for v in videos]
        wait_until(lambda: queue_depth(platform_settings, defn.queues.dlq) == 2, 15, message="both dead-lettered")

        listed = cli.invoke(app, ["dlq", "list", "--json", *opts])
        assert listed.exit_code == 0, listed.output
        entry = json.loads(listed.output)[name]
        assert entry["count"] == 2
        assert sorted(m["message_id"] for m in entry["messages"]) == sorted(ids)
        assert {m["reason"] for m in entry["messages"]} == {"PERMANENT_FAILURE"}
        assert {m["event_type"] for m in entry["messages"]} == {VideoDeletedV1.event_type}
        assert "cannot take this yet" in entry["messages"][0]["detail"]
        assert queue_depth(platform_settings, defn.queues.dlq) == 2  # listing removes nothing
        table = cli.invoke(app, ["dlq", "list", *opts], env={"COLUMNS": "240"})
        assert table.exit_code == 0 and ids[0] in table.output

        broken[0] = False  # the fix is deployed: re-drive
        one = cli.invoke(app, ["dlq", "replay", "--id", ids[0], *opts])
        assert one.exit_code == 0, one.output
        wait_until(lambda: handled == [str(videos[0])], 15, message="the replayed event handled")
        assert queue_depth(platform_settings, defn.queues.dlq) == 1

        missing = cli.invoke(app, ["dlq", "replay", "--id", str(uuid.uuid4()), *opts])
        assert missing.exit_code == 1 and queue_depth(platform_settings, defn.queues.dlq) == 1

        rest = cli.invoke(app, ["dlq", "replay", "--all", *opts])
        assert rest.exit_code == 0 and "1 message(s) replayed" in rest.output
        wait_until(lambda: sorted(handled) == sorted(map(str, videos)), 15, message="every event handled")
        assert queue_depth(platform_settings, defn.queues.dlq) == 0
