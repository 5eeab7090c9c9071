"""Distributed tracing with OpenTelemetry (docs/observability.md, "Traces").

One trace follows a piece of work across the services: the HTTP request (W3C ``traceparent`` header,
extracted by the FastAPI instrumentation), the outbox row and the event's CloudEvents envelope (the
Distributed Tracing extension's ``traceparent``/``tracestate`` attributes, written by
:func:`trace_attributes` when the event is added), and the consumer, which continues the trace from the
envelope (:func:`consumer_span`). So ``POST .../complete`` -> video.uploaded -> the transcoder's job ->
transcode.completed -> the gallery's READY share one trace id.

Off by default: nothing is exported unless the standard OpenTelemetry variables ask for it
(``OTEL_TRACES_EXPORTER=otlp`` or ``console``, or an ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), and ``OTEL_SDK_DISABLED=true`` always wins. Without an SDK
provider the API's spans are non-recording (a few hundred nanoseconds each) but trace ids still flow
through the envelopes when a caller sends a ``traceparent``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER_NAME = "reelhouse"
_configured = False


def tracing_requested(env: Mapping[str, str] | None = None) -> bool:
    """Whether the standard OTEL_* variables in ``env`` (default: the process's) ask for exported traces."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter in ("none",):
        return False
    return exporter in ("otlp", "console") or bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Install an SDK tracer provider exporting with OTLP over HTTP (or to the console) when
    :func:`tracing_requested`; once per process; returns True when this call installed it.

    The resource's ``service.name`` is ``reelhouse-<service>`` unless ``OTEL_SERVICE_NAME`` says
    otherwise; ``OTEL_RESOURCE_ATTRIBUTES`` and the exporter's ``OTEL_EXPORTER_OTLP_*`` settings apply
    as the OpenTelemetry specification defines them. Spans are batched (``BatchSpanProcessor``).
    """
    global _configured
    env = os.environ if env is None else env
    if _configured or not tracing_requested(env):
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    name = env.get("OTEL_SERVICE_NAME") or f"reelhouse-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def instrument_app(app: Any) -> None:  # noqa: ANN401 - a FastAPI app
    """Trace the app's HTTP requests (server spans continuing an incoming ``traceparent``); probes and
    ``/metrics`` are left out."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def trace_attributes() -> dict[str, str]:
    """The CloudEvents Distributed Tracing extension attributes (``traceparent``, and ``tracestate``
    when there is one) of the current span; empty outside a valid span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {k: v for k, v in carrier.items() if k in ("traceparent", "tracestate") and v}


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a valid span (for log lines)."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextmanager
def consumer_span(event_type: str, event_id: str, service: str, envelope: Mapping[str, Any]) -> Iterator[Any]:
    """A CONSUMER span for handling one event, child of the span that published it (the envelope's
    ``traceparent``), or a new trace when the envelope has none. Yields the span; exceptions are
    recorded on it and re-raised."""
    carrier = {k: str(envelope[k]) for k in ("traceparent", "tracestate") if envelope.get(k)}
    parent = _PROPAGATOR.extract(carrier) if carrier else None
    tracer = trace.get_tracer(_TRACER_NAME)
    with tracer.start_as_current_span(
        f"{event_type.removeprefix('reelhouse.')} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.message.id": event_id,
            "cloudevents.event_type": event_type,
            "reelhouse.service": service,
        },
    ) as span:
        yield span
