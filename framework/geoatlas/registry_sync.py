"""Keep ``registry.yaml`` and the built-in plugins' manifests in agreement."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

BUILTIN_PREFIX = "geoatlas_plugins."


def builtin_manifests() -> list[Any]:
    from .plugins import catalog

    out = []
    for st in catalog().statuses.values():
        if st.module.startswith(BUILTIN_PREFIX) and st.manifest is not None:
            out.append(st.manifest)
    return out


def write_registry(path: Path) -> None:
    from . import API_VERSION
    from .catalogue import builtin_capabilities
    from .registry import render_registry
    from .utils import atomic_write_text

    atomic_write_text(path, render_registry(builtin_manifests(), API_VERSION, builtin_capabilities()))


def kind_problem(kind: str, obj: Any) -> str | None:
    """Why ``obj`` (a class or factory) is not of ``kind``, or ``None``."""
    import geoopt
    import torch

    from .interfaces import Dataset, Group, Metric, Task

    if not inspect.isclass(obj):
        return None if callable(obj) else f"{obj!r} is not callable"
    expected = {"manifold": geoopt.Manifold, "encoder": torch.nn.Module, "group": Group, "dataset": Dataset,
                "loss": torch.nn.Module, "metric": Metric, "task": Task}.get(kind)
    if expected is not None and not issubclass(obj, expected):
        return f"{obj.__name__} is not a subclass of {expected.__name__}"
    if kind == "descriptor" and not (hasattr(obj, "fit") and hasattr(obj, "transform")):
        return f"{obj.__name__} has no fit/transform"
    return None


def check_registry(path: Path) -> tuple[bool, list[str]]:
    """Compare ``registry.yaml`` with the loaded built-in plugins and import every component."""
    from .plugins import catalog, import_target
    from .registry import load_registry

    msgs: list[str] = []
    if not path.exists():
        return False, [f"{path} does not exist; run `geoatlas registry --write`"]
    regfile = load_registry(path)
    reg = {m.id: m for m in regfile.plugins}
    code = {m.id: m for m in builtin_manifests()}
    cat = catalog()
    for pid in sorted(set(reg) | set(code)):
        if pid not in code:
            st = cat.statuses.get(pid)
            why = f" ({st.error})" if st is not None and st.error else ""
            msgs.append(f"[FAIL] {pid}: in registry.yaml but not loaded from the code{why}")
        elif pid not in reg:
            msgs.append(f"[FAIL] {pid}: provided by the code but missing from registry.yaml (run `geoatlas registry --write`)")
        elif reg[pid].model_dump(exclude={"module"}) != code[pid].model_dump(exclude={"module"}):
            msgs.append(f"[FAIL] {pid}: registry.yaml differs from the plugin's manifest (run `geoatlas registry --write`)")
    from .catalogue import builtin_capabilities

    if regfile.capabilities != builtin_capabilities():
        msgs.append("[FAIL] registry.yaml's capabilities (tasks, inputs, symmetries read from the components and "
                    "pipelines) are stale (run `geoatlas registry --write`)")
    for comp in cat.components.values():
        if comp.plugin not in code:
            continue
        try:
            obj = import_target(comp)
        except Exception as exc:
            msgs.append(f"[FAIL] {comp.kind} {comp.full_name}: {exc}")
            continue
        problem = kind_problem(comp.kind, obj)
        if problem:
            msgs.append(f"[FAIL] {comp.kind} {comp.full_name}: declared a {comp.kind}, but {problem}")
    ok = not msgs
    if ok:
        msgs.append(f"registry.yaml agrees with {len(code)} built-in plugins; every component imports and has its declared kind")
    return ok, msgs
