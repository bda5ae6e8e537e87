"""The plugin manifest schema and ``registry.yaml``.

A plugin manifest and an entry of ``registry.yaml`` share one schema, :class:`PluginManifest`.
``registry.yaml`` at the repository root catalogues the built-in plugins; it is generated from
their manifests (``geoatlas registry --write``) and a test keeps the two in agreement.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

KINDS: tuple[str, ...] = (
    "manifold", "group", "encoder", "descriptor", "dataset", "loss", "measure", "metric", "task",
)
Kind = Literal["manifold", "group", "encoder", "descriptor", "dataset", "loss", "measure", "metric", "task"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Paper(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    authors: list[str]
    year: int
    venue: str | None = None
    arxiv: str | None = None
    url: str | None = None


class Claim(BaseModel):
    """One checkable claim of a paper, echoed by the plugin's ``reproduce.py``.

    ``reproduce.py`` writes our measured value for each claim id to ``results.json`` (see
    :mod:`geoatlas.echo`); ``geoatlas echo`` sets the two side by side. A claim we cannot echo
    here says why in ``not_echoed``.
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="snake_case, unique within the plugin")
    claim: str = Field(description="what is compared, in one sentence")
    paper: str = Field(description="the paper's number, ranking or shape, as the paper states it")
    where: str = Field(description="where in the paper (table, figure, section)")
    metric: str = Field(description="what is measured (e.g. 'test accuracy', 'relative error')")
    direction: Literal["higher", "lower", "match", "ordering", "shape"] = Field(
        description="higher/lower is better, match a value, an ordering of methods, or a shape (a slope, a plateau)"
    )
    not_echoed: str | None = Field(None, description="why this claim cannot be echoed here (None when it is)")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"claim id {v!r} must be snake_case (letters, digits, _)")
        return v


class ComponentSpec(BaseModel):
    """Where a component lives (an import string) and a one-line summary for listings."""

    model_config = ConfigDict(extra="forbid")
    target: str = Field(description="'module:attr'; a leading '.' is relative to the plugin package")
    summary: str = ""

    @field_validator("target")
    @classmethod
    def _target_shape(cls, v: str) -> str:
        if v.count(":") != 1 or not v.split(":")[1]:
            raise ValueError(f"target {v!r} must look like 'package.module:attribute'")
        return v


class PluginManifest(BaseModel):
    """What a plugin declares about itself (and what ``registry.yaml`` records)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    summary: str = ""
    api: str = Field(">=1,<2", description="API_VERSION range this plugin supports (PEP 440)")
    status: Literal["stable", "experimental"] = "experimental"
    papers: list[Paper] = Field(default_factory=list)
    components: dict[Kind, dict[str, ComponentSpec]] = Field(default_factory=dict)
    extras: list[str] = Field(default_factory=list, description="pip extras of geoatlas it needs")
    verified: list[str] = Field(default_factory=list, description="what it was checked against")
    claims: list[Claim] = Field(default_factory=list, description="the paper's checkable claims (paper echo)")
    tasks: list[str] = Field(default_factory=list, description="tasks it serves (added to those read from its components and pipelines)")
    inputs: list[str] = Field(default_factory=list, description="input data types it takes (added to the derived ones)")
    symmetries: list[str] = Field(default_factory=list, description="groups it is invariant/equivariant to (added to the derived ones)")
    keywords: list[str] = Field(default_factory=list, description="search words for `geoatlas search`")
    module: str | None = Field(None, description="entry-point module (filled in by the loader)")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"plugin id {v!r} must be snake_case (letters, digits, _)")
        return v

    @field_validator("claims")
    @classmethod
    def _unique_claims(cls, v: list[Claim]) -> list[Claim]:
        ids = [c.id for c in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"claim ids must be unique; repeated: {', '.join(dup)}")
        return v

    @field_validator("components", mode="before")
    @classmethod
    def _short_targets(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out: dict[str, Any] = {}
            for kind, table in v.items():
                if isinstance(table, dict):
                    table = {
                        name: ({"target": spec} if isinstance(spec, str) else spec)
                        for name, spec in table.items()
                    }
                out[kind] = table
            return out
        return v

    @field_validator("components")
    @classmethod
    def _names(cls, v: dict[str, dict[str, ComponentSpec]]) -> dict[str, dict[str, ComponentSpec]]:
        for kind, table in v.items():
            for name in table:
                if not _NAME.match(name):
                    raise ValueError(f"{kind} name {name!r} must be snake_case (letters, digits, _)")
        return v


class RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1
    api: str
    plugins: list[PluginManifest]
    #: per plugin, the tasks, input types and symmetries read from its components and pipelines
    #: (``geoatlas.catalogue.derive_capabilities``), so that ``geoatlas list`` imports nothing
    capabilities: dict[str, dict[str, list[str]]] = Field(default_factory=dict)


def load_registry(path: str | Path) -> RegistryFile:
    """Read and validate a ``registry.yaml``."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return RegistryFile.model_validate(data)


def render_registry(manifests: list[PluginManifest], api: str,
                    capabilities: dict[str, dict[str, list[str]]] | None = None) -> str:
    """The text of ``registry.yaml`` for the given manifests (sorted by id, stable)."""
    import yaml

    doc = RegistryFile(api=api, plugins=sorted(manifests, key=lambda m: m.id),
                       capabilities=dict(sorted((capabilities or {}).items())))
    data = doc.model_dump(mode="json", exclude_defaults=False)
    header = (
        "# geoatlas registry: the catalogue of built-in plugins.\n"
        "# Generated from the plugins' manifests by `geoatlas registry --write`;\n"
        "# tests/core/test_packaging.py fails when it and the code disagree.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
