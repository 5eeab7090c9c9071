"""Write deploy/observability/grafana/reelhouse.json, the Grafana dashboard of Reelhouse
(docs/observability.md), from the panel list below: ``python deploy/observability/grafana/build_dashboard.py``.
tests/deploy/test_observability.py checks that the committed JSON equals this output, that every
expression parses (promtool) and that every metric it uses is exported by a service."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "reelhouse.json"

#: (row title, [(panel title, unit, [(legend, expr), ...]), ...])
ROWS: list[tuple[str, list[tuple[str, str, list[tuple[str, str]]]]]] = [
    ("Pipeline", [
        ("Uploads per minute", "short", [
            ("started", 'sum(rate(reelhouse_events_published_total{event_type="video.upload_started.v1"}[5m])) * 60'),
            ("completed", 'sum(rate(reelhouse_events_published_total{event_type="video.uploaded.v1"}[5m])) * 60'),
            ("failed", 'sum(rate(reelhouse_events_published_total{event_type="video.upload_failed.v1"}[5m])) * 60'),
        ]),
        ("Uploaded bytes per second", "Bps", [("bytes/s", "sum(rate(reelhouse_upload_completed_bytes_total[5m]))")]),
        ("Videos READY and FAILED per minute", "short", [
            ("READY", "sum(rate(reelhouse_videos_ready_total[5m])) * 60"),
            ("FAILED {{reason}}", "sum by (reason) (rate(reelhouse_videos_failed_total[5m])) * 60"),
        ]),
        ("Transcode duration (p50, p95)", "s", [
            ("p50", "histogram_quantile(0.5, sum by (le) (rate(reelhouse_transcode_duration_seconds_bucket[15m])))"),
            ("p95", "histogram_quantile(0.95, sum by (le) (rate(reelhouse_transcode_duration_seconds_bucket[15m])))"),
        ]),
        ("Transcode realtime factor (median)", "short", [
            ("x realtime", "histogram_quantile(0.5, sum by (le) (rate(reelhouse_transcode_realtime_factor_bucket[15m])))"),
        ]),
        ("Transcode queue wait (p95) and queue depth", "s", [
            ("wait p95", "histogram_quantile(0.95, sum by (le) (rate(reelhouse_transcode_queue_wait_seconds_bucket[15m])))"),
            ("messages waiting", 'max(reelhouse_queue_messages{service="transcoder", queue="main"})'),
        ]),
        ("Transcode failures by reason (30 min)", "short", [
            ("{{reason}}", "sum by (reason) (increase(reelhouse_transcode_failures_total[30m]))"),
        ]),
        ("Transcode failure ratio", "percentunit", [
            ("failed / all", 'sum(rate(reelhouse_transcode_jobs_total{outcome="failed"}[30m])) / sum(rate(reelhouse_transcode_jobs_total[30m]))'),
        ]),
    ]),
    ("Live and chat", [
        ("Live streams", "short", [
            ("LIVE", "max(reelhouse_live_streams)"),
            ("broadcasting", "max(reelhouse_live_streams_broadcasting)"),
        ]),
        ("Viewers", "short", [("viewers", "max(reelhouse_live_viewers)")]),
        ("Chat messages per minute", "short", [
            ("posted", 'sum(rate(reelhouse_events_published_total{event_type="chat.posted.v1"}[5m])) * 60'),
        ]),
        ("Chat WebSocket connections and deliveries", "short", [
            ("connections", "sum(reelhouse_chat_connections)"),
            ("deliveries/s", "sum(rate(reelhouse_chat_deliveries_total[5m]))"),
            ("slow clients dropped/s", "sum(rate(reelhouse_chat_slow_client_drops_total[5m]))"),
        ]),
    ]),
    ("Messaging", [
        ("Outbox backlog", "short", [("{{service}}", "max by (service) (reelhouse_outbox_unsent_events)")]),
        ("Outbox oldest unsent age", "s", [("{{service}}", "max by (service) (reelhouse_outbox_oldest_unsent_age_seconds)")]),
        ("Queue depth", "short", [("{{service}} {{queue}}", "max by (service, queue) (reelhouse_queue_messages)")]),
        ("Events published per second", "short", [("{{event_type}}", "sum by (event_type) (rate(reelhouse_events_published_total[5m]))")]),
        ("Retries and dead letters per minute", "short", [
            ("retried {{service}}", "sum by (service) (rate(reelhouse_events_retried_total[5m])) * 60"),
            ("dead-lettered {{service}}", "sum by (service) (rate(reelhouse_events_dead_lettered_total[5m])) * 60"),
        ]),
        ("Webhook deliveries per minute", "short", [("{{outcome}}", "sum by (outcome) (rate(reelhouse_webhook_deliveries_total[5m])) * 60")]),
    ]),
    ("Edge", [
        ("Edge requests per second by status class", "reqps", [
            ("{{status_class}}", "sum by (status_class) (rate(reelhouse_edge_requests_total[5m]))"),
        ]),
        ("Edge cache hit ratio (playback)", "percentunit", [
            ("hit ratio", 'sum(rate(reelhouse_edge_requests_total{cache="HIT"}[5m])) / sum(rate(reelhouse_edge_requests_total{cache!="none"}[5m]))'),
        ]),
        ("Edge 4xx and 5xx per second by route", "reqps", [
            ("{{route}} {{status_class}}", 'sum by (route, status_class) (rate(reelhouse_edge_requests_total{status_class=~"4xx|5xx"}[5m]))'),
        ]),
        ("Edge request time p99 by route", "s", [
            ("{{route}}", "histogram_quantile(0.99, sum by (route, le) (rate(reelhouse_edge_request_duration_seconds_bucket[5m])))"),
        ]),
    ]),
    ("HTTP", [
        ("Requests per second", "reqps", [("{{service}}", "sum by (service) (rate(reelhouse_http_requests_total[5m]))")]),
        ("5xx ratio", "percentunit", [
            ("{{service}}", 'sum by (service) (rate(reelhouse_http_requests_total{status=~"5.."}[5m])) / sum by (service) (rate(reelhouse_http_requests_total[5m]))'),
        ]),
        ("Latency p99", "s", [
            ("{{service}}", "histogram_quantile(0.99, sum by (service, le) (rate(reelhouse_http_request_duration_seconds_bucket[5m])))"),
        ]),
        ("Ready", "short", [("{{service}}", "min by (service) (reelhouse_service_ready)")]),
    ]),
]


def build() -> dict:
    """The dashboard as a dict (Grafana JSON model, schemaVersion 39; datasource chosen on import)."""
    panels: list[dict] = []
    pid, y = 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"type": "row", "title": row_title, "id": pid, "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, (title, unit, targets) in enumerate(row_panels):
            panels.append({
                "type": "timeseries",
                "title": title,
                "id": pid,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": y + 8 * (i // 2)},
                "targets": [
                    {"refId": chr(ord("A") + j), "expr": expr, "legendFormat": legend, "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                    for j, (legend, expr) in enumerate(targets)
                ],
            })
            pid += 1
        y += 8 * ((len(row_panels) + 1) // 2)
    return {
        "title": "Reelhouse",
        "uid": "reelhouse-overview",
        "tags": ["reelhouse"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]},
        "panels": panels,
    }


def render() -> str:
    """The committed file's exact text."""
    return json.dumps(build(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
