"""The public functions: ``list_components``, ``info``, ``create`` (and ``doctor``)."""

from __future__ import annotations

import fnmatch
import inspect
from typing import Any

from .errors import GeoatlasError
from .plugins import ComponentInfo, PluginStatus, catalog, import_target


def list_components(kind: str | None = None, pattern: str | None = None) -> list[ComponentInfo]:
    """List registered components, optionally of one ``kind`` and matching a glob ``pattern``.

    Imports no plugin implementation module (and no torch).

    Examples
    --------
    >>> [c.name for c in list_components("manifold", "poincare*")]  # doctest: +SKIP
    ['poincare_ball']
    """
    from .registry import KINDS

    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    out = []
    for info in catalog().components.values():
        if kind is not None and info.kind != kind:
            continue
        if pattern and not (
            fnmatch.fnmatch(info.name, pattern) or fnmatch.fnmatch(info.full_name, pattern)
        ):
            continue
        out.append(info)
    return sorted(out, key=lambda c: (c.kind, c.name, c.plugin))


def _find_any_kind(name: str) -> ComponentInfo:
    from .errors import UnknownComponentError
    from .registry import KINDS

    cat = catalog()
    hits = []
    for kind in KINDS:
        try:
            hits.append(cat.resolve(kind, name))
        except UnknownComponentError:
            continue
    if not hits:
        import difflib

        allnames = sorted({c.name for c in cat.components.values()} | set(cat.statuses))
        close = difflib.get_close_matches(name.split("/")[-1], allnames, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownComponentError(f"no component or plugin is called {name!r}.{hint}")
    return hits[0]


def parameters(obj: Any) -> dict[str, dict[str, Any]]:
    """The constructor parameters of a component factory: ``{name: {default, annotation}}``."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    params: dict[str, dict[str, Any]] = {}
    for p in sig.parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        entry: dict[str, Any] = {"required": p.default is inspect.Parameter.empty}
        if p.default is not inspect.Parameter.empty:
            entry["default"] = p.default
        if p.annotation is not inspect.Parameter.empty:
            ann = p.annotation
            entry["annotation"] = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
        params[p.name] = entry
    return params


def accepts_var_kwargs(obj: Any) -> bool:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def estimator_info(name: str, *, with_params: bool = True) -> dict[str, Any] | None:
    """What a spec's ``classifier:`` / ``clusterer:`` name stands for (a scikit-learn estimator), or ``None``."""
    from .pipeline.spec import CLASSIFIERS, CLUSTERERS

    if name not in CLASSIFIERS and name not in CLUSTERERS:
        return None
    from .pipeline.models import classifier_factory, clusterer_factory

    role = "classifier" if name in CLASSIFIERS else "clusterer"
    cls = (classifier_factory if role == "classifier" else clusterer_factory)(name)
    out: dict[str, Any] = {
        "kind": f"{role} (scikit-learn)",
        "name": name,
        "target": f"{cls.__module__}.{cls.__name__}",
        "summary": (inspect.getdoc(cls) or "").splitlines()[0],
        "usage": (f"models: {{my_model: {{{role}: {name}, params: {{...}}}}}} — features are standardised first "
                  "(StandardScaler); random_state defaults to the spec's seed"
                  + ("; LogisticRegression gets max_iter=2000" if name == "logistic_regression" else "")
                  + ("; regression tasks use the regression analogue (Ridge, SVR, RandomForestRegressor, "
                     "KNeighborsRegressor)" if role == "classifier" and name != "logistic_regression" else "")),
    }
    if with_params:
        out["params"] = parameters(cls)
    return out


def info(name: str, *, with_params: bool = True) -> dict[str, Any]:
    """Metadata of a plugin (by id), a component (by bare or full name) or a scikit-learn
    classifier/clusterer name usable in specs, including its paper.

    ``with_params`` imports the component to read its constructor parameters. A plugin whose id
    is also a component's name shows the plugin and each of its components' parameters.
    """
    cat = catalog()
    if name in cat.statuses and "/" not in name:
        st = cat.statuses[name]
        out: dict[str, Any] = {
            "plugin": st.id,
            "state": st.state,
            "module": st.module,
            "distribution": st.distribution,
            "version": st.version,
            "error": st.error,
        }
        if st.manifest is not None:
            out.update(st.manifest.model_dump(mode="json", exclude={"id", "module", "claims"}))
        if with_params and st.state == "loaded":
            comps = sorted((c for c in cat.components.values() if c.plugin == name), key=lambda c: (c.kind, c.name))
            out["component_params"] = {}
            for c in comps:
                try:
                    out["component_params"][f"{c.kind} {c.name}"] = parameters(import_target(c))
                except Exception as exc:  # a component that does not import is shown, not fatal
                    out["component_params"][f"{c.kind} {c.name}"] = {"<error>": {"required": False, "default": str(exc)}}
        return out
    est = estimator_info(name, with_params=with_params)
    if est is not None:
        return est
    comp = _find_any_kind(name)
    st = cat.statuses[comp.plugin]
    out = {
        "kind": comp.kind,
        "name": comp.name,
        "full_name": comp.full_name,
        "plugin": comp.plugin,
        "summary": comp.summary,
        "target": comp.target,
        "plugin_title": st.manifest.title if st.manifest else None,
        "papers": [p.model_dump(mode="json") for p in st.manifest.papers] if st.manifest else [],
        "verified": list(st.manifest.verified) if st.manifest else [],
    }
    if with_params:
        obj = import_target(comp)
        out["params"] = parameters(obj)
        doc = inspect.getdoc(obj) or ""
        out["doc"] = doc
    return out


_BASES = {
    "manifold": ("geoopt", "Manifold"),
    "group": ("geoatlas.interfaces", "Group"),
    "encoder": ("torch.nn", "Module"),
    "descriptor": ("geoatlas.interfaces", "Descriptor"),
    "dataset": ("geoatlas.interfaces", "Dataset"),
    "loss": ("torch.nn", "Module"),
    "measure": ("geoatlas.interfaces", "Measure"),
    "metric": ("geoatlas.interfaces", "Metric"),
    "task": ("geoatlas.interfaces", "Task"),
}


def _check_kind(kind: str, full_name: str, obj: Any) -> None:
    import importlib

    mod, attr = _BASES[kind]
    base = getattr(importlib.import_module(mod), attr)
    if kind == "descriptor":
        ok = isinstance(obj, base) or (hasattr(obj, "fit") and hasattr(obj, "transform"))
    elif kind == "measure":
        ok = isinstance(obj, base) or callable(obj)
    else:
        ok = isinstance(obj, base)
    if not ok:
        raise GeoatlasError(
            f"{full_name!r} is registered as a {kind} but created a {type(obj).__name__}, "
            f"which is not a {base.__name__}. This is a bug in the plugin."
        )


def check_params(kind: str, full_name: str, factory: Any, params: dict[str, Any]) -> None:
    """Raise a ``TypeError`` naming unknown or missing parameters, with the valid ones."""
    import difflib

    valid = parameters(factory)
    if accepts_var_kwargs(factory):
        unknown: list[str] = []
    else:
        unknown = [k for k in params if k not in valid]
    missing = [k for k, v in valid.items() if v["required"] and k not in params]
    if not unknown and not missing:
        return
    msgs = []
    for k in unknown:
        close = difflib.get_close_matches(k, list(valid), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msgs.append(f"unknown parameter {k!r}{hint}")
    if missing:
        msgs.append(f"missing required parameter(s) {', '.join(repr(m) for m in missing)}")
    listing = ", ".join(valid) if valid else "(none)"
    raise TypeError(f"{kind} {full_name!r}: " + "; ".join(msgs) + f". Valid parameters: {listing}.")


def create(kind: str, name: str, /, **params: Any) -> Any:
    """Create a component of any kind: a Manifold, Group, Encoder, Descriptor, Dataset, Loss,
    Measure, Metric or Task.

    Parameters
    ----------
    kind : {"manifold", "group", "encoder", "descriptor", "dataset", "loss", "measure", "metric", "task"}
    name : str
        Bare name (``"poincare_ball"``) while unique, or full name (``"geoopt_manifolds/poincare_ball"``).
    **params
        Constructor parameters of the component (``geoatlas info NAME`` lists them).
    """
    comp = catalog().resolve(kind, name)
    factory = import_target(comp)
    check_params(kind, comp.full_name, factory, params)
    obj = factory(**params)
    _check_kind(kind, comp.full_name, obj)
    return obj


def plugin_statuses() -> list[PluginStatus]:
    """Load status of every discovered plugin."""
    return sorted(catalog().statuses.values(), key=lambda s: s.id)


def doctor(import_components: bool = False) -> tuple[bool, list[str]]:
    """Check the installation. Returns ``(healthy, report lines)``.

    With ``import_components`` every registered component is imported too.
    """
    cat = catalog()
    lines: list[str] = []
    healthy = True
    for st in plugin_statuses():
        mark = {"loaded": "ok", "disabled": "off"}.get(st.state, "FAIL")
        ncomp = sum(1 for c in cat.components.values() if c.plugin == st.id)
        extra = f" — {st.error}" if st.error else ""
        lines.append(f"[{mark}] {st.id} ({st.state}, {ncomp} component{'' if ncomp == 1 else 's'}){extra}")
        if st.state in {"failed", "incompatible"}:
            healthy = False
    for p in cat.problems:
        if not p.startswith("plugin id"):
            lines.append(f"[FAIL] {p}")
        healthy = False
    if import_components:
        for comp in list_components():
            try:
                import_target(comp)
            except Exception as exc:
                healthy = False
                lines.append(f"[FAIL] {comp.kind} {comp.full_name}: {exc}")
    return healthy, lines
