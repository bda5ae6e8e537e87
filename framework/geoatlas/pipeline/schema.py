"""JSON Schema of pipeline specs, with the registered component names as enums."""

from __future__ import annotations

from typing import Any

from .spec import PipelineSpec


def pipeline_json_schema() -> dict[str, Any]:
    from ..plugins import catalog

    schema = PipelineSpec.model_json_schema()
    cat = catalog()
    defs = schema.get("$defs", {})

    def names(kind: str) -> list[str]:
        full = sorted(c.full_name for c in cat.components.values() if c.kind == kind)
        return sorted(set(cat.names(kind))) + full

    def enum_field(model: str, field: str, kind: str) -> None:
        props = defs.get(model, {}).get("properties", {})
        if field in props:
            props[field] = {"anyOf": [{"enum": names(kind)}, {"type": "null"}], "description": f"a registered {kind}"}

    enum_field("DataSpec", "dataset", "dataset")
    enum_field("StepSpec", "descriptor", "descriptor")
    enum_field("StepSpec", "encoder", "encoder")
    enum_field("ModelSpec", "encoder", "encoder")
    enum_field("PerturbationSpec", "group", "group")
    enum_field("MeasureSpec", "measure", "measure")
    ev = defs.get("EvaluateSpec", {}).get("properties", {})
    if "metrics" in ev:
        ev["metrics"] = {"type": "array", "items": {"enum": names("metric")}, "description": "registered metrics"}
    # a component reference (task, loss, view group) is a name or {name, params}
    ref = defs.get("ComponentRef")
    if ref is not None:
        kinds = sorted(set(names("task") + names("loss") + names("group")))
        defs["ComponentRef"] = {"anyOf": [{"type": "string", "enum": kinds}, ref]}
    schema["title"] = "geoatlas pipeline spec"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
