"""Unit tests: when tracing is switched on by the standard OTEL_* variables, and trace ids in log lines."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from reelhouse.platform.logging import add_trace_id
from reelhouse.platform.tracing import trace_attributes, tracing_requested

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_off_unless_the_standard_variables_ask_for_it(env, on):
    assert tracing_requested(env) is on


def test_outside_a_span_nothing_is_propagated_or_logged():
    assert trace_attributes() == {}
    assert "trace_id" not in add_trace_id(None, "info", {"event": "x"})


def test_inside_a_span_the_envelope_attributes_and_the_log_line_carry_its_trace():
    tracer = TracerProvider().get_tracer("t")  # a local SDK provider: recording spans, nothing global
    with trace.use_span(tracer.start_span("work"), end_on_exit=True) as span:
        ctx = span.get_span_context()
        attrs = trace_attributes()
        line = add_trace_id(None, "info", {"event": "x"})
    assert attrs["traceparent"].startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")
    assert line["trace_id"] == f"{ctx.trace_id:032x}"
