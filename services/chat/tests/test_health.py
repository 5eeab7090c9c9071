"""Service test: the chat service against real PostgreSQL and RabbitMQ. Its migrations ran (the tables
exist with the (stream_id, sent_at) index and the per-stream seq) and the runtime's health, readiness and
metrics answer."""

import pytest
from sqlalchemy import text

from reelhouse.chat.main import build_service
from reelhouse.testing import running_service

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def chat(platform_settings):
    defn = build_service(platform_settings)
    with running_service(defn) as client:
        yield client, defn


def _query(client, sql: str) -> list[tuple]:
    async def _go():
        async with client.app.state.db.session() as s:
            return [tuple(r) for r in (await s.execute(text(sql))).all()]

    return client.portal.call(_go)


def test_migrations_created_chat_tables(chat):
    client, _ = chat
    tables = {r[0] for r in _query(client, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"chat_messages", "chat_rooms", "chat_bans", "chat_moderators", "chat_presence", "outbox", "inbox", "alembic_version"} <= tables
    columns = dict(
        _query(client, "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'chat_messages'")
    )
    assert columns == {
        "id": "NO", "stream_id": "NO", "user_id": "NO", "username": "NO", "text": "NO", "sent_at": "NO", "deleted_at": "YES", "seq": "NO",
    }
    indexdef = _query(client, "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_chat_messages_stream_sent'")
    assert indexdef and "(stream_id, sent_at)" in indexdef[0][0]
    assert _query(client, "SELECT version_num FROM alembic_version") == [("0002",)]


def test_health_ready_metrics(chat):
    client, defn = chat
    assert client.get("/healthz").json() == {"status": "ok", "service": "chat"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
    assert "python_info" in client.get("/metrics/").text
    assert set(defn.handlers) == {"reelhouse.stream.started.v1", "reelhouse.stream.ended.v1"}
    assert client.app.state.consumer is not None and client.app.state.chat.fanout.ready.is_set()


def test_default_port_is_8105():
    from reelhouse.chat.settings import ChatSettings

    assert ChatSettings.model_fields["http_port"].default == 8105
