"""The local stack's opt-in Prometheus (``REELHOUSE_STACK_PROMETHEUS=1``; docs/observability.md): off by
default; on, it is one more supervised process whose configuration promtool accepts, scraping every
service process and loading the alert rules, and its readiness is part of the stack's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reelhouse.testing import requires_tools

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import StackConfig, programs, readiness_targets  # noqa: E402

pytestmark = pytest.mark.unit


def _cfg(tmp_path: Path) -> StackConfig:
    return StackConfig(run_dir=tmp_path, edge_port=48080, s3_port=49000, port_base=48100, workers=2, chat_replicas=2)


def test_off_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("REELHOUSE_STACK_PROMETHEUS", raising=False)
    cfg = _cfg(tmp_path)
    assert "prometheus" not in [name for name, _, _ in programs(cfg, tmp_path, tmp_path / "edge.conf")]
    assert "prometheus" not in readiness_targets(cfg)


@requires_tools("promtool")
def test_on_it_scrapes_every_service_process_with_the_alert_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("REELHOUSE_STACK_PROMETHEUS", "1")
    cfg = _cfg(tmp_path)
    (name, argv, _), = [p for p in programs(cfg, tmp_path, tmp_path / "edge.conf") if p[0] == "prometheus"]
    config_path = Path(next(a for a in argv if a.startswith("--config.file=")).split("=", 1)[1])
    assert f"--web.listen-address=127.0.0.1:{cfg.prometheus_port}" in argv
    checked = subprocess.run(["promtool", "check", "config", str(config_path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load(config_path.read_text())
    scraped = {c["labels"]["process"]: c["targets"][0] for job in config["scrape_configs"] for c in job["static_configs"]}
    assert scraped == {**{n: f"127.0.0.1:{p}" for n, p in cfg.service_ports().items()}, "edge": f"127.0.0.1:{cfg.edge_metrics_port}"}
    (exporter,) = [argv for name, argv, _ in programs(cfg, tmp_path, tmp_path / "edge.conf") if name == "edge-metrics"]
    assert exporter[1:4] == ["edge-metrics", "--log", str(tmp_path / "access.log")]
    assert config["rule_files"] == [str(ROOT / "deploy" / "observability" / "rules.yml")]
    assert readiness_targets(cfg)["prometheus"] == f"http://127.0.0.1:{cfg.prometheus_port}/-/ready"
