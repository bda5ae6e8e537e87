"""Hook specifications of geoatlas.

Registration is declarative: a plugin returns its manifest (the same schema as an entry in
``registry.yaml``) and names its components by import string, so listing them never imports
the implementation. Lifecycle hooks let plugins observe pipelines (tracking, caching,
profiling) without touching the core; they are observers only and a failure in one of them is
reported with the plugin's name and does not stop the run (unless strict mode is on).
"""

from __future__ import annotations

from typing import Any

from ._markers import hookspec


@hookspec
def geoatlas_manifest() -> dict[str, Any]:
    """Return this plugin's manifest.

    Keys (see :class:`geoatlas.registry.PluginManifest`): ``id``, ``title``, ``summary``,
    ``api`` (a version specifier such as ``">=1,<2"``), ``status``, ``paper``, ``components``
    (``{kind: {name: "module:attr" | {"target": ..., "summary": ...}}}``; a target starting
    with ``.`` is relative to the plugin module's package), ``extras``, ``verified``.
    """


@hookspec
def before_pipeline(spec: dict[str, Any], run_dir: str) -> None:
    """Called once the spec is validated, before any step runs."""


@hookspec
def before_step(step: str, spec: dict[str, Any]) -> None:
    """Called before each pipeline step (``data``, ``steps[i]``, ``train:<model>``, ``evaluate``)."""


@hookspec
def after_step(step: str, spec: dict[str, Any], outputs: dict[str, Any]) -> None:
    """Called after each pipeline step with a small summary of what it produced."""


@hookspec
def after_pipeline(spec: dict[str, Any], metrics: dict[str, Any], run_dir: str) -> None:
    """Called after a pipeline finished with its metrics."""


@hookspec
def on_error(step: str, spec: dict[str, Any], error: BaseException) -> None:
    """Called when a pipeline step raises, before the error propagates."""
