"""Backward-compatibility rule for published event versions (docs/events.md).

A new schema of the same event version is compatible with the published one when every property the
published schema has is still there with the same type, and no property became required that was not
required before. New optional properties are fine. Anything else needs a new version (``...v2``).
"""

from __future__ import annotations

from typing import Any


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return root.get("$defs", {}).get(ref.split("/")[-1], {})
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> Any:  # noqa: ANN401
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return sorted(str(_types(s, root)) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return ("array", str(_types(schema.get("items", {}), root)))
    if schema.get("type") == "object" or "properties" in schema:
        return ("object", tuple(sorted(schema.get("properties", {}))))
    return (schema.get("type"), schema.get("format"))


def breaking_changes(published: dict[str, Any], current: dict[str, Any], path: str = "", roots: tuple[dict, dict] | None = None) -> list[str]:
    """List the incompatibilities of ``current`` against ``published`` (both JSON Schemas of one event
    version); an empty list means compatible."""
    roots = roots or (published, current)
    pub, cur = _resolve(published, roots[0]), _resolve(current, roots[1])
    problems: list[str] = []
    pub_props, cur_props = pub.get("properties", {}), cur.get("properties", {})
    for name, sub in pub_props.items():
        where = f"{path}.{name}" if path else name
        if name not in cur_props:
            problems.append(f"{where}: removed")
            continue
        a, b = _resolve(sub, roots[0]), _resolve(cur_props[name], roots[1])
        if "properties" in a or "properties" in b:
            problems += breaking_changes(a, b, where, roots)
        elif a.get("type") == "array" and b.get("type") == "array":
            problems += breaking_changes(a.get("items", {}), b.get("items", {}), f"{where}[]", roots)
        elif _types(a, roots[0]) != _types(b, roots[1]):
            problems.append(f"{where}: type changed from {_types(a, roots[0])} to {_types(b, roots[1])}")
    newly_required = set(cur.get("required", [])) - set(pub.get("required", []))
    problems += [f"{path + '.' if path else ''}{n}: became required" for n in sorted(newly_required)]
    return problems
