"""Plugin discovery: entry points loaded one by one, with isolation and provenance.

pluggy's ``load_setuptools_entrypoints`` stops at the first broken plugin, so we load each
entry point of the group ``geoatlas`` ourselves. An entry point may name a *plugin collection*
instead of one plugin: a package that sets ``GEOATLAS_PLUGIN_COLLECTION = True`` in its
``__init__`` (the built-in ``geoatlas_plugins`` does). Each of its sub-packages is then one plugin,
whose id is the folder name, loaded and isolated on its own; adding a folder adds a plugin with no
other edit. Each plugin is registered register it with pluggy (which validates its
hookimpls against :mod:`geoatlas.hookspecs`), ask it for its manifest, validate that, check the
API range, and record a :class:`PluginStatus` either way. Component *targets* are import
strings; nothing here imports a component (or torch).

Environment variables
---------------------
``GEOATLAS_STRICT=1``            any plugin failure raises :class:`PluginLoadError` (CI mode).
``GEOATLAS_DISABLE_PLUGINS=a,b`` skip these plugin ids.
``GEOATLAS_PLUGINS=a,b``         load only these plugin ids (allowlist).
"""

from __future__ import annotations

import importlib
import os
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from ._markers import PROJECT
from .errors import (
    ComponentImportError,
    NameCollisionError,
    PluginLoadError,
    UnknownComponentError,
)

ENTRY_POINT_GROUP = "geoatlas"


@dataclass
class PluginStatus:
    """Load status of one plugin, as shown by ``geoatlas doctor``."""

    id: str
    module: str
    state: str  # "loaded" | "failed" | "incompatible" | "disabled"
    distribution: str | None = None
    version: str | None = None
    error: str | None = None
    load_seconds: float = 0.0
    manifest: Any = None  # PluginManifest when loaded


@dataclass(frozen=True)
class ComponentInfo:
    """One registered component (what ``list_components`` returns)."""

    kind: str
    name: str
    plugin: str
    summary: str
    target: str

    @property
    def full_name(self) -> str:
        return f"{self.plugin}/{self.name}"


@dataclass
class Catalog:
    """Everything the loaded plugins provide."""

    statuses: dict[str, PluginStatus] = field(default_factory=dict)
    components: dict[tuple[str, str], ComponentInfo] = field(default_factory=dict)  # (kind, full)
    by_name: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kind, bare) -> fulls
    problems: list[str] = field(default_factory=list)
    pm: pluggy.PluginManager | None = None

    # ------------------------------------------------------------------ lookup
    def names(self, kind: str) -> list[str]:
        return sorted({full.split("/", 1)[1] for (k, full) in self.components if k == kind})

    def resolve(self, kind: str, name: str) -> ComponentInfo:
        """Find a component by full name ``plugin/name`` or bare ``name``."""
        from .registry import KINDS

        if kind not in KINDS:
            raise UnknownComponentError(
                f"unknown component kind {kind!r}; the kinds are: {', '.join(KINDS)}"
            )
        if "/" in name:
            hit = self.components.get((kind, name))
            if hit is not None:
                return hit
        else:
            fulls = self.by_name.get((kind, name), [])
            if len(fulls) == 1:
                return self.components[(kind, fulls[0])]
            if len(fulls) > 1:
                raise NameCollisionError(
                    f"{kind} name {name!r} is provided by several plugins: "
                    f"{', '.join(sorted(fulls))}. Use the full name to choose one."
                )
        raise UnknownComponentError(self.unknown_message(kind, name))

    def unknown_message(self, kind: str, name: str) -> str:
        import difflib

        choices = self.names(kind)
        bare = name.split("/", 1)[-1]
        close = difflib.get_close_matches(bare, choices, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        other = [k for (k, full) in self.components if full.split("/", 1)[1] == bare and k != kind]
        if other:
            hint += f" ({bare!r} exists as a {other[0]}, not a {kind}.)"
        failed = [s.id for s in self.statuses.values() if s.state != "loaded"]
        tail = f" Plugins that did not load: {', '.join(failed)} (see `geoatlas doctor`)." if failed else ""
        listing = ", ".join(choices) if choices else "(none)"
        return f"unknown {kind} {name!r}.{hint} Valid {kind} names: {listing}.{tail}"

    # ------------------------------------------------------------------ lifecycle hooks
    def call_hook(self, hook: str, **kwargs: Any) -> None:
        """Call a lifecycle hook on every plugin, one at a time, isolating failures."""
        if self.pm is None:
            return
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as exc:
                if strict_mode():
                    raise
                warnings.warn(
                    f"geoatlas plugin {impl.plugin_name!r} raised in hook {hook}: "
                    f"{type(exc).__name__}: {exc}",
                    stacklevel=2,
                )


def strict_mode() -> bool:
    return os.environ.get("GEOATLAS_STRICT", "").lower() in {"1", "true", "yes"}


def _env_list(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class _Loader:
    def __init__(self) -> None:
        self.catalog = Catalog()
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.catalog.pm = self.pm

    def load_entry_points(self) -> None:
        allow = _env_list("GEOATLAS_PLUGINS")
        deny = _env_list("GEOATLAS_DISABLE_PLUGINS") or set()
        eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value))
        for ep in eps:
            collection = self._collection(ep)
            members = (
                [(pid, f"{ep.value}.{pid}") for pid in collection]
                if collection is not None
                else [(ep.name, ep.value)]
            )
            for pid, module in members:
                if (allow is not None and pid not in allow) or pid in deny:
                    self.catalog.statuses.setdefault(
                        pid, PluginStatus(pid, module, "disabled", *self._dist(ep))
                    )
                    continue
                self.load_one(pid, module, loader=_importer(module), dist=self._dist(ep))

    def _collection(self, ep: EntryPoint) -> list[str] | None:
        """The plugin ids (sub-package names) of a plugin collection, or ``None`` if ``ep`` is one plugin."""
        import pkgutil

        if ":" in ep.value:
            return None
        try:
            module = importlib.import_module(ep.value)
        except Exception:
            return None  # reported as a failed plugin by load_one
        if not getattr(module, "GEOATLAS_PLUGIN_COLLECTION", False):
            return None
        return sorted(
            info.name
            for info in pkgutil.iter_modules(getattr(module, "__path__", []))
            if info.ispkg and not info.name.startswith("_")
        )

    _dist_cache: dict[str, tuple[str | None, str | None]] = {}

    @classmethod
    def _dist(cls, ep: EntryPoint) -> tuple[str | None, str | None]:
        dist = getattr(ep, "dist", None)
        if dist is None:
            return None, None
        key = str(getattr(dist, "_path", id(dist)))
        if key not in cls._dist_cache:  # parsing metadata is slow: once per distribution
            cls._dist_cache[key] = (dist.metadata["Name"], dist.version)
        return cls._dist_cache[key]

    def load_one(
        self,
        plugin_id: str,
        module_name: str,
        loader: Any,
        dist: tuple[str | None, str | None] = (None, None),
    ) -> PluginStatus:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from pydantic import ValidationError

        from . import API_VERSION
        from .registry import PluginManifest

        status = PluginStatus(plugin_id, module_name, "failed", *dist)
        if plugin_id in self.catalog.statuses and self.catalog.statuses[plugin_id].state == "loaded":
            prev = self.catalog.statuses[plugin_id]
            status.error = (
                f"plugin id {plugin_id!r} is already taken by {prev.module} "
                f"({prev.distribution or 'unknown distribution'}); this one ({module_name}, "
                f"{dist[0] or 'unknown distribution'}) was not loaded. Rename one of them."
            )
            self.catalog.problems.append(status.error)
            self.catalog.statuses[f"{plugin_id} ({module_name})"] = status
            return status
        t0 = time.perf_counter()
        try:
            obj = loader()
        except Exception as exc:  # a broken plugin must not take the others down
            status.error = f"import failed: {_short_error(exc)}"
            status.load_seconds = time.perf_counter() - t0
            return self._record(status)
        try:
            self.pm.register(obj, name=plugin_id)
        except Exception as exc:  # pluggy validation (bad hookimpl signature, ...)
            status.error = f"invalid hooks: {_short_error(exc)}"
            return self._record(status)
        try:
            impls = [i for i in self.pm.hook.geoatlas_manifest.get_hookimpls() if i.plugin_name == plugin_id]
            if not impls:
                raise ValueError("it implements no `geoatlas_manifest` hook")
            raw = impls[0].function()
            manifest = PluginManifest.model_validate(raw)
            if manifest.id != plugin_id:
                raise ValueError(
                    f"manifest id {manifest.id!r} differs from the entry-point name {plugin_id!r}"
                )
            manifest.module = module_name
            try:
                spec = SpecifierSet(manifest.api)
            except InvalidSpecifier as exc:
                raise ValueError(f"api {manifest.api!r} is not a version range: {exc}") from exc
            if API_VERSION not in spec:
                self.pm.unregister(name=plugin_id)
                status.state = "incompatible"
                status.error = (
                    f"supports geoatlas API {manifest.api}, but this geoatlas provides API "
                    f"{API_VERSION}. Upgrade or pin one of them."
                )
                return self._record(status)
        except ValidationError as exc:
            self.pm.unregister(name=plugin_id)
            lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            status.error = "bad manifest: " + "; ".join(lines)
            return self._record(status)
        except Exception as exc:
            self.pm.unregister(name=plugin_id)
            status.error = f"bad manifest: {_short_error(exc)}"
            return self._record(status)
        status.state = "loaded"
        status.manifest = manifest
        status.load_seconds = time.perf_counter() - t0
        self._add_components(manifest, module_name)
        return self._record(status)

    def _record(self, status: PluginStatus) -> PluginStatus:
        self.catalog.statuses[status.id] = status
        return status

    def _add_components(self, manifest: Any, module_name: str) -> None:
        package = module_name.split(":")[0]
        for kind, table in manifest.components.items():
            for name, spec in table.items():
                target = spec.target
                if target.startswith("."):
                    target = package + target
                info = ComponentInfo(kind, name, manifest.id, spec.summary, target)
                self.catalog.components[(kind, info.full_name)] = info
                owners = self.catalog.by_name.setdefault((kind, name), [])
                owners.append(info.full_name)
                if len(owners) == 2:
                    self.catalog.problems.append(
                        f"name collision: {kind} {name!r} is provided by "
                        f"{' and '.join(sorted(o.split('/')[0] for o in owners))}; "
                        f"the bare name is refused, use {' or '.join(sorted(owners))}."
                    )


def _importer(module: str) -> Any:
    return lambda: importlib.import_module(module)


_CATALOG: Catalog | None = None
_LOADER: _Loader | None = None


def catalog() -> Catalog:
    """The process-wide catalog, loaded on first use."""
    global _CATALOG, _LOADER
    if _CATALOG is None:
        _LOADER = _Loader()
        _LOADER.load_entry_points()
        _CATALOG = _LOADER.catalog
        failed = [s for s in _CATALOG.statuses.values() if s.state in {"failed", "incompatible"}]
        if failed or _CATALOG.problems:
            msgs = [f"{s.id} ({s.error})" for s in failed] + _CATALOG.problems
            if strict_mode():
                raise PluginLoadError("geoatlas plugins failed to load (strict mode):\n  " + "\n  ".join(msgs))
            parts = []
            if failed:
                parts.append(f"{len(failed)} geoatlas plugin(s) failed to load: {', '.join(s.id for s in failed)}")
            if _CATALOG.problems:
                parts.append(f"{len(_CATALOG.problems)} problem(s): {'; '.join(_CATALOG.problems)}")
            warnings.warn(
                "geoatlas plugin issues: " + ". ".join(parts) + ". Run `geoatlas doctor` for details.",
                stacklevel=2,
            )
    return _CATALOG


def register(obj: Any, plugin_id: str | None = None) -> PluginStatus:
    """Register a plugin object or module by hand (notebooks, tests); no packaging needed.

    The object must implement the ``geoatlas_manifest`` hook. Returns its load status.
    """
    catalog()
    assert _LOADER is not None
    name = plugin_id or getattr(obj, "__name__", type(obj).__name__).split(".")[-1]
    module = getattr(obj, "__name__", name)
    return _LOADER.load_one(name, module, loader=lambda: obj)


def unregister(plugin_id: str) -> None:
    """Remove a plugin registered by hand (and its components)."""
    cat = catalog()
    assert _LOADER is not None
    if _LOADER.pm.has_plugin(plugin_id):
        _LOADER.pm.unregister(name=plugin_id)
    cat.statuses.pop(plugin_id, None)
    for key in [k for k, v in cat.components.items() if v.plugin == plugin_id]:
        info = cat.components.pop(key)
        owners = cat.by_name.get((info.kind, info.name), [])
        if info.full_name in owners:
            owners.remove(info.full_name)
    cat.problems = [p for p in cat.problems if plugin_id not in p]


def reset() -> None:
    """Forget the loaded catalog (the next call reloads the entry points)."""
    global _CATALOG, _LOADER
    _CATALOG = None
    _LOADER = None


def import_target(info: ComponentInfo) -> Any:
    """Import the object a component names, with a helpful error if that fails."""
    module_name, _, attr = info.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        cat = catalog()
        st = cat.statuses.get(info.plugin)
        extras = list(st.manifest.extras) if st is not None and st.manifest is not None else []
        missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
        hint = ""
        if extras:
            hint = f" It needs the extra(s) {extras}: pip install 'geoatlas[{','.join(extras)}]'."
        what = f"missing module {missing!r}" if missing else _short_error(exc)
        raise ComponentImportError(
            f"cannot import {info.kind} {info.full_name!r} from {info.target}: {what}.{hint}"
        ) from exc
    return obj
