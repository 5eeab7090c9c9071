"""Offline checks of deploy/observability (docs/observability.md): the alert rules load and pass their
promtool unit tests, the PrometheusRule carries the same groups, the committed Grafana dashboard is the
builder's output and every expression in it parses, and every metric a rule or a panel uses is one the
services really export (read from the Prometheus registry after importing every service)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from reelhouse.testing import requires_tools

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
METRIC = re.compile(r"\b(reelhouse_[a-z0-9_]+)\b")
SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")


def _builder():
    spec = importlib.util.spec_from_file_location("reelhouse_dashboard_builder", OBS / "grafana" / "build_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load((OBS / "rules.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def _panel_exprs() -> list[str]:
    dashboard = json.loads((OBS / "grafana" / "reelhouse.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _exported() -> set[str]:
    """Sample names the five services export (counters with ``_total``, histograms' series)."""
    for service in SERVICES:
        importlib.import_module(f"reelhouse.{service}.main").build_app()
    importlib.import_module("reelhouse.platform.edge_metrics")  # the edge's exporter (reelhouse-admin edge-metrics)
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
        else:
            names.add(family.name)
    return names


@requires_tools("promtool")
def test_alert_rules_load_and_pass_their_unit_tests():
    checked = subprocess.run(["promtool", "check", "rules", str(OBS / "rules.yml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout
    tested = subprocess.run(["promtool", "test", "rules", str(OBS / "rules.test.yml")], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_prometheus_rule_carries_the_same_groups():
    plain = yaml.safe_load((OBS / "rules.yml").read_text())
    crd = yaml.safe_load((OBS / "prometheusrule.yaml").read_text())
    assert (crd["apiVersion"], crd["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert crd["spec"]["groups"] == plain["groups"]
    alerts = {r["alert"] for g in plain["groups"] for r in g["rules"]}
    assert alerts == {"ReelhouseDeadLetters", "ReelhouseOutboxStuck", "ReelhouseServiceNotReady", "ReelhouseTranscodeFailureRate", "ReelhouseNoVideosReady"}


def test_the_committed_dashboard_is_the_builders_output():
    assert (OBS / "grafana" / "reelhouse.json").read_text() == _builder().render(), "run deploy/observability/grafana/build_dashboard.py and commit"


@requires_tools("promtool")
def test_every_dashboard_expression_parses(tmp_path):
    # promtool parses expressions of rule files: each panel query becomes a recording rule
    rules = {"groups": [{"name": "panels", "rules": [{"record": f"panel:query:{i}", "expr": e} for i, e in enumerate(_panel_exprs())]}]}
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_metric_a_rule_or_panel_uses_is_exported():
    used = {m for expr in _rule_exprs() + _panel_exprs() for m in METRIC.findall(expr)}
    exported = _exported()
    assert used, "no metric found in the rules and panels"
    assert sorted(used - exported) == []
