"""geoatlas: geometric deep-learning methods as plugins.

The top-level import is light on purpose: it never imports torch or any plugin
implementation module. Heavy names (``Manifold``, ``Encoder``, ``Pipeline``, ...) are
resolved lazily on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._markers import hookimpl, hookspec
from .api import create, doctor, info, list_components, plugin_statuses
from .errors import (
    ComponentImportError,
    GeoatlasError,
    NameCollisionError,
    PluginLoadError,
    SpecError,
    UnknownComponentError,
)

__version__ = "0.1.0"
#: Version of the plugin contract (hookspecs, manifest schema, interfaces). Plugins declare
#: the range they support in their manifest's ``api`` field (e.g. ``">=1,<2"``).
API_VERSION = "1.0"

_LAZY = {
    "Manifold": "geoatlas.interfaces",
    "Group": "geoatlas.interfaces",
    "Encoder": "geoatlas.interfaces",
    "Descriptor": "geoatlas.interfaces",
    "Dataset": "geoatlas.interfaces",
    "DataBundle": "geoatlas.interfaces",
    "Loss": "geoatlas.interfaces",
    "Measure": "geoatlas.interfaces",
    "Metric": "geoatlas.interfaces",
    "Task": "geoatlas.interfaces",
    "TaskOutput": "geoatlas.interfaces",
    "Pipeline": "geoatlas.pipeline",
    "RunResult": "geoatlas.pipeline",
    "testing": "geoatlas.testing",
    "utils": "geoatlas.utils",
}

__all__ = [
    "API_VERSION",
    "ComponentImportError",
    "DataBundle",
    "Dataset",
    "Descriptor",
    "Encoder",
    "GeoatlasError",
    "Group",
    "Loss",
    "Measure",
    "Metric",
    "Task",
    "TaskOutput",
    "Manifold",
    "NameCollisionError",
    "Pipeline",
    "PluginLoadError",
    "RunResult",
    "SpecError",
    "UnknownComponentError",
    "create",
    "doctor",
    "hookimpl",
    "hookspec",
    "info",
    "list_components",
    "plugin_statuses",
    "testing",
    "utils",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        value = module if name in {"testing", "utils"} else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'geoatlas' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from . import testing, utils
    from .interfaces import (
        DataBundle,
        Dataset,
        Descriptor,
        Encoder,
        Group,
        Loss,
        Manifold,
        Measure,
        Metric,
        Task,
        TaskOutput,
    )
    from .pipeline import Pipeline, RunResult
