"""Service test across services: one trace id spans upload-complete to READY (docs/observability.md,
"Traces"). The gallery, upload and transcoder services run in this process against real PostgreSQL,
RabbitMQ, SeaweedFS and ffmpeg with an in-memory span exporter; a real clip is uploaded and the
``POST .../complete`` carries a W3C ``traceparent`` of a client span. The HTTP server span, the consumer
spans of video.uploaded (transcoder, gallery) and of transcode.completed (gallery: READY) must all belong
to that client's trace, each consumer span a child of the span that published its event."""

from __future__ import annotations

import uuid

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from reelhouse.gallery.main import build_service as gallery_service
from reelhouse.platform.auth import issue_token
from reelhouse.platform.storage import ensure_buckets
from reelhouse.testing import footage_dir, requires_tools, running_service, wait_until
from reelhouse.platform.tracing import trace_attributes
from reelhouse.transcoder.main import build_service as transcoder_service
from reelhouse.transcoder.settings import TranscoderSettings
from reelhouse.upload.main import build_service as upload_service

pytestmark = [pytest.mark.service, requires_tools("ffmpeg", "ffprobe")]

CLIP = footage_dir() / "bigbuckbunny.mp4"


@pytest.fixture(scope="module")
def spans():
    """The process's tracer provider with an in-memory exporter (set once per process by the SDK)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # later tests record nothing


def test_one_trace_spans_upload_complete_to_ready(platform_settings, spans):
    ensure_buckets(platform_settings)
    worker = TranscoderSettings(**platform_settings.model_dump(exclude={"service_name", "http_port"}), worker_name="trace-worker", preset="ultrafast")
    user = f"tracer-{uuid.uuid4().hex[:6]}"
    auth = {"authorization": f"Bearer {issue_token(user, platform_settings.jwt_secret)}"}
    with running_service(gallery_service(platform_settings)) as gallery, running_service(upload_service(platform_settings)) as upload, \
            running_service(transcoder_service(worker)):
        data = CLIP.read_bytes()
        video = gallery.post("/api/videos", json={"title": "Traced", "sourceMime": "video/mp4", "sourceSizeBytes": len(data), "fileName": "bbb.mp4"}, headers=auth)
        assert video.status_code == 201, video.text
        vid = video.json()["id"]
        session = wait_until(lambda: (r := upload.post(f"/api/videos/{vid}/uploads", json={}, headers=auth)).status_code == 201 and r.json(), 15, 0.2, "upload session")
        sid, size = session["uploadSessionId"], session["partSizeBytes"]
        etags = []
        for n in range(1, session["totalParts"] + 1):
            answer = upload.post(f"/api/uploads/{sid}/parts", json={"partNumber": n}, headers=auth).json()
            url = answer.get("uploadUrl") or answer["parts"][0]["uploadUrl"]
            put = httpx.put(url, content=data[(n - 1) * size : n * size], timeout=30)
            assert put.status_code == 200, put.text
            etags.append({"partNumber": n, "etag": put.headers["etag"].strip('"')})

        with trace.get_tracer("test-client").start_as_current_span("client upload", kind=SpanKind.CLIENT) as client_span:
            headers = {**auth, **trace_attributes()}
            assert "traceparent" in headers
            done = upload.post(f"/api/uploads/{sid}/complete", json={"parts": etags}, headers=headers)
        assert done.status_code == 200, done.text
        trace_id = client_span.get_span_context().trace_id
        wait_until(lambda: gallery.get(f"/api/videos/{vid}", headers=auth).json()["status"] in ("READY", "FAILED"), 120, 0.5, "READY")
        assert gallery.get(f"/api/videos/{vid}", headers=auth).json()["status"] == "READY"

    finished = spans.get_finished_spans()
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    names = {(s.resource.attributes.get("service.name"), s.name, s.attributes.get("reelhouse.service")) for s in in_trace}
    # the request's span (SERVER; INTERNAL here, as the in-process test client runs inside the client span)
    server = [s for s in in_trace if s.name == "POST /api/uploads/{sid}/complete"]
    assert len(server) == 1 and server[0].parent.span_id == client_span.get_span_context().span_id, names
    consumers = {(s.attributes.get("reelhouse.service"), s.attributes.get("cloudevents.event_type")): s for s in in_trace if s.kind == SpanKind.CONSUMER}
    uploaded = "reelhouse.video.uploaded.v1"
    completed = "reelhouse.transcode.completed.v1"
    assert ("transcoder", uploaded) in consumers, names
    assert ("gallery", uploaded) in consumers, names
    assert ("gallery", completed) in consumers, names  # READY is committed inside this span
    # transcode.completed was published from within the transcoder's handling of video.uploaded
    assert consumers[("gallery", completed)].parent.span_id == consumers[("transcoder", uploaded)].context.span_id
