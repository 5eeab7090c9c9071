"""Contract tests (docs/events.md): published event versions never change incompatibly, the
committed JSON Schemas and AsyncAPI document match the code, and every event a service consumes is
produced by some service with a payload that validates against the committed schema."""

import copy
import importlib
import json
import uuid

import pytest

from reelhouse.contracts import CATALOGUE, CloudEvent, routing_key_for
from reelhouse.contracts.compat import breaking_changes
from reelhouse.contracts.generate import (
    ASYNCAPI_PATH,
    asyncapi,
    committed_schema,
    event_schema,
    service_topology,
)

pytestmark = pytest.mark.contract

SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_event_has_a_committed_schema_equal_to_the_code(event_type):
    published = committed_schema(event_type)
    assert published is not None, f"{event_type} has no committed schema: run `make schemas`"
    problems = breaking_changes(published, event_schema(event_type))
    assert problems == [], f"{event_type} changed incompatibly: {problems}; publish a new version instead"
    assert published == event_schema(event_type), "schema drifted compatibly: run `make schemas` and commit"


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_event_types_are_versioned_and_route_by_name(event_type):
    assert event_type.startswith("reelhouse.") and event_type.rsplit(".", 1)[1].startswith("v")
    assert routing_key_for(event_type) == event_type.removeprefix("reelhouse.")
    assert CATALOGUE[event_type].model_config.get("frozen") is True


def test_asyncapi_document_is_generated_from_the_code():
    committed = json.loads(ASYNCAPI_PATH.read_text())
    assert committed == json.loads(json.dumps(asyncapi(service_topology()))), "run `make schemas` and commit"
    assert committed["asyncapi"].startswith("3.")


def test_every_service_registers_its_events():
    assert sorted(service_topology()) == sorted(SERVICES)


def test_every_consumed_event_is_produced_by_a_service():
    topo = service_topology()
    produced = {t for roles in topo.values() for t in roles["publishes"]}
    for service, roles in topo.items():
        missing = set(roles["consumes"]) - produced
        assert not missing, f"{service} consumes {sorted(missing)} which no service publishes"
        unknown = set(roles["consumes"]) | set(roles["publishes"])
        assert unknown <= set(CATALOGUE), f"{service} names events outside the catalogue: {unknown - set(CATALOGUE)}"


def _sample(model):
    """A minimal valid payload for ``model`` built from its JSON Schema (required fields only)."""
    schema = model.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})

    def value(sub):
        if "$ref" in sub:
            return value(defs[sub["$ref"].split("/")[-1]])
        if "anyOf" in sub:
            return value(next(s for s in sub["anyOf"] if s.get("type") != "null"))
        t, fmt = sub.get("type"), sub.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return "2026-11-21T00:00:00Z"
        if t == "object":
            return {k: value(v) for k, v in sub.get("properties", {}).items() if k in sub.get("required", [])}
        if t == "array":
            return [value(sub["items"])] * max(1, sub.get("minItems", 0))
        return {"string": "x", "integer": max(1, sub.get("minimum", 1)), "number": 1.0, "boolean": True}[t]

    return value(schema)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_a_producer_payload_validates_for_consumers(event_type):
    jsonschema = pytest.importorskip("jsonschema")
    model = CATALOGUE[event_type]
    wire = model.model_validate(_sample(model)).model_dump(mode="json", by_alias=True)
    jsonschema.validate(wire, committed_schema(event_type))
    env = CloudEvent(source="/test", type=event_type, data=wire)
    assert model.model_validate(CloudEvent.model_validate_json(env.model_dump_json()).data) == model.model_validate(wire)


def test_compat_rule_catches_breaking_changes():
    base = event_schema("reelhouse.video.uploaded.v1")
    removed = copy.deepcopy(base)
    del removed["properties"]["checksum"]
    retyped = copy.deepcopy(base)
    retyped["properties"]["sourceSizeBytes"] = {"type": "string"}
    required = copy.deepcopy(base)
    required["properties"]["newField"] = {"type": "string"}
    required["required"].append("newField")
    optional = copy.deepcopy(base)
    optional["properties"]["newField"] = {"type": "string"}
    assert any("checksum: removed" in p for p in breaking_changes(base, removed))
    assert any("sourceSizeBytes: type changed" in p for p in breaking_changes(base, retyped))
    assert any("newField: became required" in p for p in breaking_changes(base, required))
    assert breaking_changes(base, optional) == []


@pytest.mark.parametrize("service", SERVICES)
def test_services_declare_their_events(service):
    mod = importlib.import_module(f"reelhouse.{service}.handlers")
    assert isinstance(mod.HANDLERS, dict) and isinstance(mod.PUBLISHES, tuple)
