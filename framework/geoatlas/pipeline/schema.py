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
    schema["title"] = "geoatlas pipeline spec"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
