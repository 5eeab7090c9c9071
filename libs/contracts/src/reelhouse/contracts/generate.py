"""Generate the committed contract documents from the code.

- ``libs/contracts/schemas/<event type>.json``: the JSON Schema (wire form, camelCase) of every event
  payload in the catalogue;
- ``libs/contracts/asyncapi.json``: an AsyncAPI 3.0 document of the events exchange: one channel per
  routing key, one message per event type, and the send/receive operations of every service (taken
  from the services' handler registries, passed in by the caller).

``python -m reelhouse.contracts.generate`` (``make schemas``) rewrites them, refusing a change that
breaks a published version (see :mod:`reelhouse.contracts.compat`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reelhouse.contracts.compat import breaking_changes
from reelhouse.contracts.envelope import CloudEvent, routing_key_for
from reelhouse.contracts.events import CATALOGUE

CONTRACTS_DIR = Path(__file__).resolve().parents[3]
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
ASYNCAPI_PATH = CONTRACTS_DIR / "asyncapi.json"


def event_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema of one event's payload as it appears on the wire (by alias)."""
    schema = CATALOGUE[event_type].model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = f"https://reelhouse.dev/schemas/{event_type}.json"
    schema["x-event-type"] = event_type
    return schema


def committed_schema(event_type: str) -> dict[str, Any] | None:
    """The committed (published) schema of ``event_type``, or None when not yet published."""
    path = SCHEMAS_DIR / f"{event_type}.json"
    return json.loads(path.read_text()) if path.exists() else None


def asyncapi(topology: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    """AsyncAPI 3.0 document. ``topology`` maps service -> {"publishes": [...], "consumes": [...]}."""
    channels, operations, messages = {}, {}, {}
    for event_type in sorted(CATALOGUE):
        key = routing_key_for(event_type)
        name = key.replace(".", "_")
        messages[name] = {
            "name": event_type,
            "contentType": "application/cloudevents+json",
            "summary": (CATALOGUE[event_type].__doc__ or "").strip().split("\n")[0],
            "payload": {"$ref": f"./schemas/{event_type}.json"},
        }
        channels[name] = {"address": key, "messages": {name: {"$ref": f"#/components/messages/{name}"}}, "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": "reelhouse.events", "type": "topic", "durable": True}}}}
    for service, roles in sorted(topology.items()):
        for action, verb in (("send", "publishes"), ("receive", "consumes")):
            for event_type in sorted(roles.get(verb, [])):
                name = routing_key_for(event_type).replace(".", "_")
                operations[f"{service}_{action}_{name}"] = {"action": action, "channel": {"$ref": f"#/channels/{name}"}, "summary": f"{service} {verb} {event_type}"}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Reelhouse domain events", "version": "1.0.0", "description": "Versioned domain events on the reelhouse.events topic exchange (CloudEvents 1.0 envelope, structured JSON)."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEvent": CloudEvent.model_json_schema()}},
    }


def write_all(topology: dict[str, dict[str, list[str]]]) -> list[str]:
    """Rewrite schemas and the AsyncAPI document; returns the files changed. Raises SystemExit on a
    breaking change to a published version."""
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    changed = []
    for event_type in sorted(CATALOGUE):
        new = event_schema(event_type)
        old = committed_schema(event_type)
        if old is not None:
            problems = breaking_changes(old, new)
            if problems:
                raise SystemExit(f"{event_type}: breaking change to a published version ({'; '.join(problems)}); add a new version instead")
        text = json.dumps(new, indent=2, sort_keys=True) + "\n"
        path = SCHEMAS_DIR / f"{event_type}.json"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(str(path))
    text = json.dumps(asyncapi(topology), indent=2, sort_keys=True) + "\n"
    if not ASYNCAPI_PATH.exists() or ASYNCAPI_PATH.read_text() != text:
        ASYNCAPI_PATH.write_text(text)
        changed.append(str(ASYNCAPI_PATH))
    return changed


def service_topology() -> dict[str, dict[str, list[str]]]:
    """What each installed service publishes and consumes.

    Services register their handler module under the entry-point group ``reelhouse.events``
    (``HANDLERS``: consumed types, ``PUBLISHES``: published types), so this library never imports a
    service by name.
    """
    from importlib.metadata import entry_points

    topo = {}
    for ep in entry_points(group="reelhouse.events"):
        mod = ep.load()
        topo[ep.name] = {"publishes": list(getattr(mod, "PUBLISHES", ())), "consumes": list(getattr(mod, "HANDLERS", {}))}
    return topo


if __name__ == "__main__":
    for f in write_all(service_topology()):
        print(f"wrote {f}")
    sys.exit(0)
