"""Where a built-in plugin's files live: one folder per plugin.

``plugins/geoatlas_plugins/<id>/`` holds the code, ``README.md``, ``pipelines/*.yaml``,
``tests/``, ``reproduce.py`` (which writes ``results.json``) and ``benchmark.py``. These helpers
find those files for every loaded plugin, so tests, docs and ``make`` targets need no list of
plugins: a new folder is picked up everywhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

BUILTIN_PACKAGE = "geoatlas_plugins"


def source_root() -> Path:
    """The source checkout holding ``framework/`` (``registry.yaml``, ``tests/``, ``docs/``); in an
    installed wheel these files are absent and callers fall back."""
    return Path(__file__).resolve().parents[2]


def plugin_dir(plugin_id: str) -> Path | None:
    """The folder of a loaded plugin (built-in or third-party), or ``None`` if it has none."""
    from .plugins import catalog

    st = catalog().statuses.get(plugin_id)
    if st is None:
        return None
    module = st.module.split(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve().parent


def builtin_ids() -> list[str]:
    """Ids of the loaded built-in plugins (those found in the ``geoatlas_plugins`` collection)."""
    from .plugins import catalog

    return sorted(
        s.id for s in catalog().statuses.values()
        if s.module.startswith(BUILTIN_PACKAGE + ".") and s.state == "loaded"
    )


def plugin_pipelines(plugin_id: str) -> list[Path]:
    """The example pipelines shipped in a plugin's ``pipelines/`` folder."""
    d = plugin_dir(plugin_id)
    return sorted((d / "pipelines").glob("*.yaml")) if d is not None else []


def all_builtin_pipelines() -> list[tuple[str, Path]]:
    """``(plugin_id, path)`` for every pipeline of every built-in plugin."""
    return [(pid, p) for pid in builtin_ids() for p in plugin_pipelines(pid)]
