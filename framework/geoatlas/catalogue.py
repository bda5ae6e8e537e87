"""Finding a plugin: one row per plugin (paper, kinds, tasks, input types, symmetries) and a
keyword search over ids, titles, summaries, papers and components.

What a plugin *does* (the tasks it serves, the data it takes, the groups it respects) is read from
its components and its example pipelines. For the built-in plugins that reading is done once by
``geoatlas registry --write`` and stored in ``registry.yaml`` under ``capabilities`` (so ``geoatlas
list`` and ``geoatlas search`` import no torch); a third-party plugin is read on demand, and a
manifest may state ``tasks``, ``inputs``, ``symmetries`` and ``keywords`` itself (they are added to
what is derived).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: short names of the kinds, for an 80-column table
KIND_ABBREV = {"manifold": "mfd", "group": "grp", "encoder": "enc", "descriptor": "desc", "dataset": "data",
               "loss": "loss", "measure": "meas", "metric": "metr", "task": "task"}

#: words a user types for a symmetry, and the group names that mean it (search widens to these)
SYMMETRY_WORDS: dict[str, tuple[str, ...]] = {
    "rotation": ("so2", "so3", "se2", "se3", "o2", "o3", "rotation", "rotations", "roto", "orientation", "equivariant",
                 "equivariance", "invariant", "invariance"),
    "translation": ("se2", "se3", "e3", "translation", "translations"),
    "permutation": ("permutations", "permutation", "symmetric_group", "set"),
    "reflection": ("o2", "o3", "reflection", "reflections"),
    "equivariance": ("equivariant", "equivariance", "invariant", "invariance"),
    "hyperbolic": ("poincare", "lorentz", "hyperbolic", "hyperboloid"),
    "spd": ("spd", "covariance", "symmetric positive definite", "riemannian"),
}


@dataclass
class PluginRow:
    """One plugin as ``geoatlas list`` shows it."""

    id: str
    title: str
    year: int | None
    status: str
    kinds: list[str]
    tasks: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    symmetries: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    summary: str = ""
    papers: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    state: str = "loaded"

    def as_dict(self) -> dict[str, Any]:
        return {"plugin": self.id, "title": self.title, "year": self.year, "status": self.status,
                "kinds": self.kinds, "tasks": self.tasks, "inputs": self.inputs, "symmetries": self.symmetries,
                "keywords": self.keywords, "summary": self.summary, "components": self.components,
                "state": self.state}


def _uniq(xs: Any) -> list[str]:
    out: list[str] = []
    for x in xs:
        if x and x != "*" and x not in out:
            out.append(str(x))
    return sorted(out)


def _pipeline_facts(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(task names, dataset names, group names) a pipeline names, read without running it."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception:
        return [], [], []
    tasks, datasets, groups = [], [], []
    task = data.get("task")
    if isinstance(task, dict):
        task = task.get("name")
    if isinstance(task, str):
        tasks.append(task)
    ds = (data.get("data") or {}).get("dataset") if isinstance(data.get("data"), dict) else None
    if isinstance(ds, str):
        datasets.append(ds)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "group" and isinstance(v, str):
                    groups.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in data.items() if k in ("evaluate", "pretrain", "models", "steps", "data")})
    return tasks, datasets, groups


def _dataset_facts(obj: Any) -> tuple[str | None, str | None]:
    """A dataset class's ``(data_type, task)`` where it declares them."""
    dt, tk = getattr(obj, "data_type", None), getattr(obj, "task", None)
    return (dt if isinstance(dt, str) else None), (tk if isinstance(tk, str) else None)


def derive_capabilities(plugin_id: str) -> dict[str, list[str]]:
    """Tasks, input types and symmetries of one plugin, read from its component classes and its
    example pipelines (imports the plugin's implementation modules)."""
    from .layout import plugin_pipelines
    from .plugins import catalog, import_target

    cat = catalog()
    tasks: list[str | None] = []
    inputs: list[str | None] = []
    groups: list[str] = []
    for comp in [c for c in cat.components.values() if c.plugin == plugin_id]:
        try:
            obj = import_target(comp)
        except Exception:
            continue
        if comp.kind == "encoder":
            it = getattr(obj, "input_type", None)
            if isinstance(it, str) and it != "vector":
                inputs.append(it)
        elif comp.kind == "dataset":
            dt, tk = _dataset_facts(obj)
            inputs.append(dt)
            tasks.append(tk)
        elif comp.kind == "group":
            groups.append(comp.name)
        elif comp.kind == "task":
            tasks.append(comp.name)
    for spec in plugin_pipelines(plugin_id):
        ptasks, pdatasets, pgroups = _pipeline_facts(spec)
        groups.extend(pgroups)
        ds_task: list[str | None] = []
        for ds in pdatasets:
            try:
                dt, tk = _dataset_facts(import_target(cat.resolve("dataset", ds)))
            except Exception:
                continue
            inputs.append(dt)
            ds_task.append(tk)
        tasks.extend(ptasks or ds_task)
    return {"tasks": _uniq(tasks), "inputs": _uniq(inputs), "symmetries": _uniq(groups)}


def builtin_capabilities() -> dict[str, dict[str, list[str]]]:
    """``derive_capabilities`` for every loaded built-in plugin (what ``registry --write`` stores)."""
    from .layout import builtin_ids

    return {pid: derive_capabilities(pid) for pid in builtin_ids()}


def _stored_capabilities() -> dict[str, dict[str, list[str]]]:
    """The capabilities stored in the source tree's ``registry.yaml`` (empty if there is none)."""
    import yaml

    from .layout import source_root

    path = source_root() / "registry.yaml"
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception:
        return {}
    caps = doc.get("capabilities") or {}
    return caps if isinstance(caps, dict) else {}


def _cache_path() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "geoatlas" / "capabilities.json"


def _cached_capabilities(st: Any) -> dict[str, list[str]]:
    """``derive_capabilities`` for a plugin outside the registry, cached per (id, version, module
    file time) in the user's cache folder so that ``list`` stays fast after the first call."""
    import importlib.util
    import json

    try:
        spec = importlib.util.find_spec(st.module.split(":")[0])
        stamp = Path(spec.origin).stat().st_mtime if spec is not None and spec.origin else 0.0
    except (ImportError, ValueError, OSError):
        stamp = 0.0
    key = f"{st.id}|{st.version}|{stamp}"
    path = _cache_path()
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    caps = derive_capabilities(st.id)
    cache = {k: v for k, v in cache.items() if not k.startswith(st.id + "|")}
    cache[key] = caps
    try:
        from .utils import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(cache, indent=1, sort_keys=True))
    except OSError:
        pass
    return caps


def plugin_rows() -> list[PluginRow]:
    """One row per discovered plugin, capabilities included (see the module docstring)."""
    from .plugins import catalog

    cat = catalog()
    stored = _stored_capabilities()
    rows = []
    for st in sorted(cat.statuses.values(), key=lambda s: s.id):
        m = st.manifest
        comps = sorted((c for c in cat.components.values() if c.plugin == st.id), key=lambda c: (c.kind, c.name))
        kinds = _uniq(c.kind for c in comps)
        caps = stored.get(st.id)
        if caps is None and st.state == "loaded":
            caps = _cached_capabilities(st)
        caps = caps or {}
        extra = m.model_dump() if m is not None else {}
        rows.append(PluginRow(
            id=st.id,
            title=(m.papers[0].title if m is not None and m.papers else (m.title if m is not None else st.id)),
            year=(m.papers[0].year if m is not None and m.papers else None),
            status=(m.status if m is not None else "?"),
            kinds=kinds,
            tasks=_uniq(list(caps.get("tasks", [])) + list(extra.get("tasks") or [])),
            inputs=_uniq(list(caps.get("inputs", [])) + list(extra.get("inputs") or [])),
            symmetries=_uniq(list(caps.get("symmetries", [])) + list(extra.get("symmetries") or [])),
            keywords=list(extra.get("keywords") or []),
            summary=(m.summary if m is not None else (st.error or "")),
            papers=[f"{p.title} {' '.join(p.authors)} {p.venue or ''} {p.year} {p.arxiv or ''}"
                    for p in (m.papers if m is not None else [])],
            components=[f"{c.kind}:{c.name} {c.summary}" for c in comps],
            state=st.state,
        ))
    return rows


def filter_rows(rows: list[PluginRow], *, kind: str | None = None, task: str | None = None,
                input_type: str | None = None, pattern: str | None = None) -> list[PluginRow]:
    out = []
    for r in rows:
        if kind and kind not in r.kinds:
            continue
        if task and task not in r.tasks:
            continue
        if input_type and input_type not in r.inputs:
            continue
        if pattern and not (fnmatch.fnmatch(r.id, pattern)
                            or any(fnmatch.fnmatch(c.split(" ")[0].split(":", 1)[1], pattern) for c in r.components)):
            continue
        out.append(r)
    return out


def _terms(query: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", query.lower()) if t]


def _widen(term: str) -> tuple[str, ...]:
    stem = term.rstrip("s") if len(term) > 4 else term
    for word, alts in SYMMETRY_WORDS.items():
        if stem.startswith(word[: max(4, len(word) - 3)]) or term in alts:
            return (term, stem, *alts)
    return (term, stem)


def search(query: str, rows: list[PluginRow] | None = None) -> list[tuple[float, PluginRow]]:
    """Plugins matching every word of ``query`` (a word matches the plugin id, title, summary,
    papers, keywords, symmetries, tasks, input types or component names and summaries; symmetry
    words such as "rotation" also match the groups that mean them), best first."""
    rows = plugin_rows() if rows is None else rows
    terms = _terms(query)
    if not terms:
        return []
    scored = []
    for r in rows:
        fields = [
            (3.0, f"{r.id} {r.title}".lower()),
            (2.0, " ".join(r.keywords + r.symmetries + r.tasks + r.inputs).lower()),
            (1.0, f"{r.summary} {' '.join(r.papers)}".lower()),
            (0.5, " ".join(r.components).lower()),
        ]
        total = 0.0
        for t in terms:
            best = 0.0
            for alt_i, alt in enumerate(_widen(t)):
                weight_alt = 1.0 if alt_i < 2 else 0.5
                for w, text in fields:
                    if re.search(r"(?<![a-z0-9])" + re.escape(alt), text):
                        best = max(best, w * weight_alt)
            if best == 0.0:
                total = 0.0
                break
            total += best
        if total > 0:
            scored.append((total, r))
    return sorted(scored, key=lambda x: (-x[0], x[1].id))


def no_match_hint(query: str, rows: list[PluginRow]) -> str:
    """Why nothing matched, and what to try instead."""
    import difflib

    words = sorted({w for r in rows for w in re.split(r"[^a-z0-9]+", f"{r.id} {r.title} {r.summary}".lower()) if len(w) > 3})
    close = []
    for t in _terms(query):
        close += difflib.get_close_matches(t, words, n=3, cutoff=0.7)
    hint = f" Did you mean {', '.join(repr(c) for c in dict.fromkeys(close))}?" if close else ""
    terms = _terms(query)
    more = " Fewer words may help: every word must match." if len(terms) > 1 else ""
    return (f"no plugin matches {query!r} (searched ids, paper titles, summaries, authors, keywords, "
            f"symmetries, tasks, input types and component names).{hint}{more} "
            "`geoatlas list` shows all plugins; `geoatlas list --components` every component.")
