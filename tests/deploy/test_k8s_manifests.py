"""Offline checks of deploy/k8s, the Dockerfiles and the Tiltfile (no cluster, no container engine).

The first group needs nothing but Python: the YAML files as written are validated against the
Kubernetes schemas of kubernetes-validate and the KEDA objects against deploy/k8s/schemas. The second
group renders the kustomize base and overlays with ``kubectl kustomize`` and skips, saying so, where
kubectl is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import starlark

from reelhouse.platform.messaging.topology import ServiceQueues

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
TRANSCODER_QUEUE = ServiceQueues.for_service("reelhouse.", "transcoder").main


def _objects(pairs):
    return [obj for _, obj in pairs]


def _fmt(problems: list[str]) -> str:
    return "\n".join(problems)


# --- without kubectl -------------------------------------------------------------------------


def test_raw_manifests_match_kubernetes_and_keda_schemas(k8s, raw_objects):
    kinds = {obj["kind"] for _, obj in raw_objects}
    assert {"Deployment", "Service", "StatefulSet", "ScaledObject", "TriggerAuthentication"} <= kinds
    problems = k8s.validate_schemas(raw_objects, ROOT)
    assert problems == [], _fmt(problems)


def test_only_the_edge_and_the_ingest_may_reach_the_streaming_pods(raw_objects):
    """The ingest callbacks (/internal/rtmp) are open to the edge and the ingest only (issue 10 item 7)."""
    objects = _objects(raw_objects)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    pods = {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"] for o in objects if o["kind"] == "Deployment"}

    def selects(selector: dict, labels: dict) -> bool:
        return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

    guarding = [p for p in policies if selects(p["spec"]["podSelector"], pods["streaming"])]
    assert len(guarding) == 1 and guarding[0]["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = guarding[0]["spec"]["ingress"]
    assert all(set(peer) == {"podSelector"} for peer in rule["from"])  # no namespace or IP block opens it wider
    admitted = {name for name, labels in pods.items() if any(selects(peer["podSelector"], labels) for peer in rule["from"])}
    assert admitted == {"edge", "ingest"}
    assert [p["port"] for p in rule["ports"]] == ["http"]


def test_raw_pods_are_hardened_with_resources_and_probes(k8s, raw_objects):
    problems = k8s.check_pods(_objects(raw_objects)) + k8s.check_service_probes(_objects(raw_objects))
    assert problems == [], _fmt(problems)


def test_every_image_has_a_dockerfile_or_a_pinned_tag(k8s, raw_objects):
    problems = k8s.check_images(_objects(raw_objects), ROOT) + k8s.check_dockerfiles(ROOT)
    assert problems == [], _fmt(problems)


def test_scaled_object_targets_the_transcoder_queue_by_its_real_name(k8s, raw_objects):
    scaled = [obj for _, obj in raw_objects if obj["kind"] == "ScaledObject"]
    assert len(scaled) == 1
    trigger = scaled[0]["spec"]["triggers"][0]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == TRANSCODER_QUEUE == "reelhouse.transcoder"
    assert trigger["metadata"]["protocol"] == "http"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert trigger["metadata"]["value"] == "5"
    assert scaled[0]["spec"]["minReplicaCount"] in (0, 1)
    problems = k8s.check_keda(
        _objects(raw_objects),
        k8s.KedaExpectations(TRANSCODER_QUEUE, k8s.transcoder_shutdown_grace_default()),
        rendered=False,
    )
    assert problems == [], _fmt(problems)


def test_tiltfile_parses_and_runs_against_the_raw_manifests(k8s, raw_objects):
    dialect = starlark.Dialect.extended()
    dialect.enable_load = True
    ast = starlark.parse("Tiltfile", (ROOT / "Tiltfile").read_text(), dialect)
    assert ast is not None
    # Same object names as the rendered overlay (only generated ConfigMaps/Secrets are missing).
    problems = k8s.check_tiltfile(ROOT, _objects(raw_objects))
    assert problems == [], _fmt(problems)


# --- rendered with kubectl kustomize ---------------------------------------------------------


def test_base_and_overlays_render_and_validate(k8s, base_objects, dev_objects):
    assert k8s.overlays(ROOT) == ["dev"]
    problems = k8s.validate_schemas([("base", o) for o in base_objects], ROOT)
    problems += k8s.validate_schemas([("overlays/dev", o) for o in dev_objects], ROOT)
    assert problems == [], _fmt(problems)


def test_dev_overlay_contains_services_edge_ingest_and_infrastructure(k8s, dev_objects):
    present = {(o["kind"], o["metadata"]["name"]) for o in dev_objects}
    for name in ("gallery", "upload", "transcoder", "streaming", "chat", "edge", "ingest", "s3"):
        assert ("Deployment", name) in present and ("Service", name) in present, name
    for name in ("postgres", "rabbitmq"):
        assert ("StatefulSet", name) in present and ("Service", name) in present, name
    assert ("ScaledObject", "transcoder") in present
    assert ("TriggerAuthentication", "transcoder-rabbitmq") in present
    images = {c["image"] for w in k8s.workloads(dev_objects) for c in k8s.all_containers(k8s.pod_spec(w))}
    assert any(i.startswith("postgres:") for i in images)
    assert any(i.startswith("rabbitmq:") and "management" in i for i in images)
    assert not any("bitnami" in i for i in images)
    problems = k8s.check_dev_contents(dev_objects)
    assert problems == [], _fmt(problems)


def test_dev_overlay_wiring_hardening_and_images(k8s, dev_objects):
    problems = (
        k8s.check_pods(dev_objects)
        + k8s.check_service_probes(dev_objects)
        + k8s.check_references(dev_objects)
        + k8s.check_images(dev_objects, ROOT)
    )
    assert problems == [], _fmt(problems)


def test_services_get_only_settings_they_read(k8s, dev_objects):
    problems = k8s.check_settings(dev_objects, k8s.known_settings())
    assert problems == [], _fmt(problems)


def test_edge_and_ingest_run_the_laptop_stack_templates(k8s, dev_objects):
    maps = {o["metadata"]["name"].rsplit("-", 1)[0]: o for o in dev_objects if o["kind"] == "ConfigMap"}
    local = ROOT / "deploy" / "k8s" / "base" / "nginx"
    assert maps["edge-nginx"]["data"]["edge.conf.template"] == (local / "edge.conf.template").read_text()
    assert maps["edge-nginx"]["data"]["playback.js"] == (local / "playback.js").read_text()
    assert maps["ingest-nginx"]["data"]["rtmp.conf.template"] == (local / "rtmp.conf.template").read_text()
    # the API document and its page, and the CORS module, ship in the same ConfigMap
    for name in ("cors.js", "openapi.json", "api-docs.html"):
        assert maps["edge-nginx"]["data"][name] == (local / name).read_text(), name
    problems = k8s.check_nginx_templates(dev_objects, ROOT)
    assert problems == [], _fmt(problems)


def test_edge_settings_in_the_cluster_are_the_documented_defaults(dev_objects):
    """edge-config (CORS allowlist, limits per address) holds EdgeSettings' defaults, which the template
    gets as the same values on a laptop (docs/security.md, "Edge limits")."""
    from reelhouse.platform.settings import EdgeSettings

    maps = {o["metadata"]["name"].rsplit("-", 1)[0]: o for o in dev_objects if o["kind"] == "ConfigMap"}
    data = maps["edge-config"]["data"]
    defaults = EdgeSettings.model_construct()
    assert {k.removeprefix("REELHOUSE_EDGE_").lower() for k in data} == set(EdgeSettings.model_fields)
    for key, value in data.items():
        assert str(getattr(defaults, key.removeprefix("REELHOUSE_EDGE_").lower())) == value, key


def test_keda_objects_resolve_in_the_dev_overlay(k8s, dev_objects):
    expect = k8s.KedaExpectations(TRANSCODER_QUEUE, k8s.transcoder_shutdown_grace_default())
    problems = k8s.check_keda(dev_objects, expect, rendered=True)
    assert problems == [], _fmt(problems)


def test_tiltfile_builds_applies_and_forwards_the_dev_overlay(k8s, dev_objects):
    problems = k8s.check_tiltfile(ROOT, dev_objects)
    assert problems == [], _fmt(problems)
    run = k8s.run_tiltfile(ROOT, dev_objects)
    assert {b["ref"] for b in run.builds} == {f"reelhouse/{s}" for s in k8s.SERVICES} | {"reelhouse/nginx"}
