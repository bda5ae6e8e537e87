"""Sweeps: one spec run over a grid of settings and a list of seeds, gathered into one table.

Every combination runs in its own run directory ``OUT/runs/<setting>/seed-<k>`` (the setting's
``key=value`` pairs name the folder, so growing a grid reuses the runs already done). A run
directory that holds ``metrics.json`` is finished and skipped when the sweep runs again; one that
holds only a partial run is resumed from its checkpoints. A run that fails is recorded
(``error.txt`` in its directory, ``failed`` in ``runs.csv``) and the others go on.

Outputs in ``OUT``: ``runs.csv`` (one row per run), ``results.csv`` (one row per setting: mean
and standard deviation over seeds of every scalar metric), ``main_metric.png`` (the main metric
per setting: mean, spread and each seed) and ``sweep.json`` (what was asked).

``local`` runs the runs one after another in this process; ``ray`` runs them in parallel as Ray
tasks (one CPU each, or ``executor.threads``) on a cluster or a local Ray instance. The spec's own
``executor:`` still decides how each run does its work, so a run's result does not depend on how
the sweep was dispatched.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GeoatlasError, SpecError


# ---------------------------------------------------------------------- parsing
def parse_seeds(text: str | int | Iterable[int]) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"``; ``"0-2,9"``; an int or a list of ints as is."""
    if isinstance(text, bool):
        raise TypeError(f"seeds must be an int, a list of ints or text like '0-4', got {text!r}")
    if isinstance(text, int):
        return [text]
    if not isinstance(text, str):
        seeds = list(text)
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise TypeError(f"seeds must be a non-empty list of ints, got {seeds!r}")
        return _unique(seeds, "seeds")
    out: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", part)
        if not m:
            raise ValueError(f"--seeds: {part.strip()!r} is not a seed or a range like 0-4 (in {text!r})")
        a, b = int(m.group(1)), int(m.group(2)) if m.group(2) is not None else int(m.group(1))
        if b < a:
            raise ValueError(f"--seeds: range {part.strip()!r} is empty (its end is below its start)")
        out.extend(range(a, b + 1))
    return _unique(out, "seeds")


def _unique(xs: list[Any], what: str) -> list[Any]:
    seen = set()
    for x in xs:
        key = json.dumps(x, sort_keys=True, default=str)
        if key in seen:
            raise ValueError(f"{what}: {x!r} is given twice")
        seen.add(key)
    return xs


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets and quotes: ``[64,64],[128]`` -> two values."""
    parts, depth, cur, quote = [], 0, "", None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["train.lr=1e-3,1e-2", "model.params.k=4,8"]`` -> ``{"train.lr": [...], ...}``; values
    are YAML (``[64,64]`` is a list; commas inside brackets do not split)."""
    import yaml

    grid: dict[str, list[Any]] = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"--grid expects key=value1,value2 (e.g. train.lr=1e-3,1e-2), got {item!r}")
        key, values = item.split("=", 1)
        key = key.strip()
        if not key or key in grid:
            raise ValueError(f"--grid: {'a key is empty' if not key else f'key {key!r} is given twice'} in {item!r}")
        raw = _split_top(values)
        if not all(raw):
            raise ValueError(f"--grid {key}: an empty value in {values!r}")
        parsed = []
        for r in raw:
            try:
                parsed.append(yaml.safe_load(r))
            except yaml.YAMLError as exc:
                raise ValueError(f"--grid {key}: value {r!r} is not valid YAML ({exc})") from None
        grid[key] = _unique(parsed, f"--grid {key}")
    return grid


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v, separators=(",", ":"))


def _slug(setting: dict[str, Any]) -> str:
    import hashlib

    if not setting:
        return "base"
    text = "__".join(f"{k}={_fmt_value(v)}" for k, v in setting.items())
    slug = re.sub(r"[^A-Za-z0-9._=+-]", "_", text)
    if len(slug) > 100:
        slug = slug[:80] + "-" + hashlib.sha1(text.encode()).hexdigest()[:10]
    return slug


# ---------------------------------------------------------------------- the sweep
@dataclass
class SweepRun:
    setting: dict[str, Any]
    seed: int
    run_dir: Path
    status: str = "pending"  # done (finished earlier, skipped) / ok / failed
    error: str = ""
    metrics: dict[str, Any] | None = None


@dataclass
class SweepResult:
    """What a sweep produced: every run, the per-setting table (``rows``) and where the files are."""

    out: Path
    grid: dict[str, list[Any]]
    seeds: list[int]
    runs: list[SweepRun]
    rows: list[dict[str, Any]] = field(default_factory=list)
    main_metric: str | None = None

    @property
    def failed(self) -> list[SweepRun]:
        return [r for r in self.runs if r.status == "failed"]

    @property
    def ran(self) -> list[SweepRun]:
        """The runs this call ran (not those found finished)."""
        return [r for r in self.runs if r.status in ("ok", "failed")]


def sweep(spec: str | Path | Any, grid: dict[str, Sequence[Any]] | Sequence[str] | None = None, seeds: Any = None, *,
          executor: str = "local", out: str | Path | None = None, overrides: list[str] | dict[str, Any] | None = None,
          address: str | None = None, workers: int = -1, metric: str | None = None, progress: bool = True) -> SweepResult:
    """Run ``spec`` (a YAML path or text, or a :class:`~geoatlas.pipeline.Pipeline`) for every
    combination of ``grid`` (``{"train.lr": [1e-3, 1e-2]}`` or ``["train.lr=1e-3,1e-2"]``) and
    every seed in ``seeds`` (``"0-4"``, a list, default: the spec's seed).

    ``executor``: ``local`` (in turn, in this process) or ``ray`` (in parallel as Ray tasks at
    ``address`` / ``$RAY_ADDRESS``, else on a local Ray instance with ``workers`` CPUs).
    ``out``: the sweep directory (default ``sweeps/<spec name>``); running the same sweep again
    there skips finished runs and resumes partial ones. ``metric``: the main metric for the plot,
    ``accuracy`` or ``<model>.accuracy`` (default: the first metric of the first model)."""
    import copy

    import yaml

    from .runner import Pipeline

    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    if isinstance(spec, Pipeline):
        base = spec
    elif isinstance(spec, (str, Path)):
        base = Pipeline.from_yaml(spec, overrides=overrides)
    else:
        raise TypeError(f"spec must be a YAML path or text, or a Pipeline, got {type(spec).__name__}")
    if isinstance(spec, Pipeline) and overrides:
        base = Pipeline(copy.deepcopy(base.data), base.lines, base.source, base.base_dir)
        from .yamlio import apply_overrides

        apply_overrides(base.data, overrides)
    base_spec = base.validate()
    if grid is None:
        grid_d: dict[str, list[Any]] = {}
    elif isinstance(grid, dict):
        grid_d = {}
        for k, vs in grid.items():
            if not isinstance(k, str) or not k:
                raise TypeError(f"grid keys must be dotted spec keys like 'train.lr', got {k!r}")
            if isinstance(vs, (str, bytes)) or not isinstance(vs, Sequence) or not len(vs):
                raise TypeError(f"grid[{k!r}] must be a non-empty list of values, got {vs!r}")
            grid_d[k] = _unique(list(vs), f"grid[{k!r}]")
    else:
        grid_d = parse_grid(list(grid))
    if "seed" in grid_d:
        raise ValueError("give seeds with `seeds` (--seeds), not as a grid key")
    seed_list = parse_seeds(seeds) if seeds is not None else [base_spec.seed]
    root = Path(out) if out is not None else Path("sweeps") / base_spec.name

    # every run's spec, validated before anything runs (a bad value fails that setting only)
    runs: list[SweepRun] = []
    jobs: list[tuple[SweepRun, dict[str, Any] | None, bool]] = []
    settings = [dict(zip(grid_d, combo, strict=True)) for combo in itertools.product(*grid_d.values())]
    slugs = [_slug(s) for s in settings]
    if len(set(slugs)) != len(slugs):
        raise ValueError("two grid settings give the same folder name; make the values distinguishable")
    for setting, slug in zip(settings, slugs, strict=True):
        for seed in seed_list:
            run = SweepRun(setting, seed, root / "runs" / slug / f"seed-{seed}")
            runs.append(run)
            data = copy.deepcopy(base.data)
            from .yamlio import apply_overrides

            try:
                apply_overrides(data, {**setting, "seed": seed})
                rspec = Pipeline(data, base.lines, base.source, base.base_dir).validate()
            except (SpecError, GeoatlasError, ValueError, TypeError) as exc:
                jobs.append((run, None, False))
                run.error = f"{type(exc).__name__}: {exc}"
                continue
            resolved = yaml.safe_dump(rspec.model_dump(mode="json"), sort_keys=False)
            have = run.run_dir / "spec.resolved.yaml"
            if have.exists() and have.read_text(encoding="utf-8") != resolved:
                raise SpecError(
                    f"{str(run.run_dir)!r} holds a run of a different spec (compare its spec.resolved.yaml); "
                    "this sweep directory belongs to another sweep: choose another `out` (--out)"
                )
            if (run.run_dir / "metrics.json").exists():
                run.status = "done"
                run.metrics = json.loads((run.run_dir / "metrics.json").read_text(encoding="utf-8"))
                continue
            jobs.append((run, data, have.exists()))

    root.mkdir(parents=True, exist_ok=True)
    from ..utils import atomic_write_text

    atomic_write_text(root / "sweep.json", json.dumps({
        "spec": str(base.source), "name": base_spec.name, "overrides": overrides if isinstance(overrides, (list, dict)) else None,
        "grid": grid_d, "seeds": seed_list, "executor": executor}, indent=2, default=str))
    result = SweepResult(root, grid_d, seed_list, runs)
    try:
        where = (str(base.source), base.base_dir)
        if executor == "local":
            _run_local(jobs, progress, len(runs), where)
        else:
            _run_ray(jobs, progress, len(runs), address, workers, root, where)
    finally:
        _write_runs_csv(result)
    preferred = metric or (base_spec.evaluate.metrics[0] if base_spec.evaluate.metrics else None)
    _summarise(result, preferred, list(base_spec.all_models()), explicit=metric is not None)
    return result


def _record(run: SweepRun, outcome: tuple[Any, ...]) -> None:
    from ..utils import atomic_write_text

    err = run.run_dir / "error.txt"
    if outcome[0] == "ok":
        run.status, run.metrics, run.error = "ok", json.loads(json.dumps(outcome[1], sort_keys=True)), ""
        err.unlink(missing_ok=True)
    else:
        run.status, run.error = "failed", outcome[1]
        atomic_write_text(err, outcome[1] + "\n\n" + outcome[2])


def _one_run(d: Path, data: dict[str, Any], resume: bool, threads: int | None, source: str = "<spec>",
             base_dir: Path | None = None) -> tuple[Any, ...]:
    """One run of the sweep (in this process, or on a Ray worker); ``base_dir`` resolves the
    spec's relative file paths as for the spec itself."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    from .runner import Pipeline

    try:
        res = Pipeline(data, None, source, base_dir).run(run_dir=d, resume=resume, progress=False)
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
    return ("ok", res.metrics)


class _Progress:
    def __init__(self, show: bool, total: int, done: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.counts = {"skipped": done, "ok": 0, "failed": 0}
        self.prog = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                             TimeElapsedColumn(), console=Console(stderr=True, quiet=not show), disable=not show)
        self.task = self.prog.add_task(self._desc(), total=total, completed=done)

    def _desc(self) -> str:
        c = self.counts
        return f"{c['ok']} ran, {c['skipped']} finished earlier, {c['failed']} failed"

    def step(self, run: SweepRun) -> None:
        self.counts["ok" if run.status == "ok" else "failed"] += 1
        self.prog.update(self.task, advance=1, description=self._desc())
        if run.status == "failed":
            self.prog.console.print(f"[red]failed[/red] {run.run_dir}: {run.error.splitlines()[0] if run.error else ''}")

    def __enter__(self) -> _Progress:
        self.prog.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.prog.__exit__(*exc)


def _run_local(jobs: list[tuple[SweepRun, Any, bool]], show: bool, total: int, where: tuple[str, Path | None]) -> None:
    with _Progress(show, total, total - len(jobs)) as prog:
        for run, data, resume in jobs:
            outcome = ("error", run.error, "") if data is None else _one_run(run.run_dir, data, resume, None, *where)
            _record(run, outcome)
            prog.step(run)


def _run_ray(jobs: list[tuple[SweepRun, Any, bool]], show: bool, total: int, address: str | None, workers: int,
             root: Path, where: tuple[str, Path | None]) -> None:
    from .executor import Probe, _remote, ensure_ray, write_back

    ray = ensure_ray(address, workers)
    with _Progress(show, total, total - len(jobs)) as prog, Probe(root) as probe:
        pending: dict[Any, SweepRun] = {}
        for run, data, resume in jobs:
            if data is None:
                _record(run, ("error", run.error, ""))
                prog.step(run)
                continue
            threads = (data.get("executor") or {}).get("threads")
            files_in = _dir_files(run.run_dir) if resume else {}
            fn = _remote(ray, "in_dir").options(num_cpus=threads or 1)
            pending[fn.remote(str(run.run_dir.resolve()), probe, files_in, _one_run, data, resume, threads or 1, *where)] = run
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                run = pending.pop(ready[0])
                try:
                    outcome, files = ray.get(ready[0])
                    write_back(run.run_dir, files)
                except Exception as exc:  # the task itself died (worker lost, out of memory)
                    outcome = ("error", f"{type(exc).__name__}: {exc}".splitlines()[0], traceback.format_exc())
                _record(run, outcome)
                prog.step(run)
        finally:
            for ref in pending:
                ray.cancel(ref)


def _dir_files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}


# ---------------------------------------------------------------------- the table
def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """Every number a run reports per model, as ``label.metric`` (``label.perturbations.rot.accuracy``)."""
    out: dict[str, float] = {}

    def walk(prefix: str, d: Any) -> None:
        if isinstance(d, dict):
            for k, v in d.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(d, (int, float)) and not isinstance(d, bool):
            out[prefix] = float(d)

    for label, res in metrics.get("models", {}).items():
        walk(label, res)
    return out


def _summarise(result: SweepResult, metric: str | None, labels: list[str], explicit: bool) -> None:
    import numpy as np

    per_run = [(r, _scalars(r.metrics)) for r in result.runs if r.metrics is not None]
    columns: list[str] = []
    for _, s in per_run:
        columns.extend(c for c in s if c not in columns)
    order = {label: i for i, label in enumerate(labels)}
    columns.sort(key=lambda c: (order.get(c.split(".", 1)[0], len(order)), c.split(".", 1)[0], "perturbations" in c, c))
    rows = []
    settings: dict[str, list[SweepRun]] = {}
    for r in result.runs:
        settings.setdefault(json.dumps(r.setting, sort_keys=True, default=str), []).append(r)
    scal = {id(r): s for r, s in per_run}
    for group in settings.values():
        row: dict[str, Any] = {k: _fmt_value(v) for k, v in group[0].setting.items()}
        ok = [r for r in group if r.metrics is not None]
        row.update({"seeds": len(group), "ok": len(ok), "failed": sum(r.status == "failed" for r in group)})
        for c in columns:
            vals = np.array([scal[id(r)][c] for r in ok if c in scal[id(r)]], dtype=float)
            row[f"{c} mean"] = float(vals.mean()) if len(vals) else math.nan
            row[f"{c} std"] = float(vals.std(ddof=1)) if len(vals) > 1 else math.nan
        rows.append(row)
    result.rows = rows
    result.main_metric = _main_metric(columns, metric, explicit)
    _write_csv(result.out / "results.csv", rows)
    if result.main_metric is not None:
        _plot(result)


def _main_metric(columns: list[str], metric: str | None, explicit: bool) -> str | None:
    if metric in columns:
        return metric
    matches = [c for c in columns if c.split(".", 1)[1] == metric]
    if metric is None or (not matches and not explicit) or not columns:
        return next((c for c in columns if c.split(".", 1)[1] not in ("epochs", "final_train_loss") and "perturbations" not in c), columns[0] if columns else None)
    if not matches:
        raise ValueError(f"metric {metric!r} is not among the runs' metrics: {', '.join(columns) or '(no finished runs)'}")
    return matches[0]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import io

    from ..utils import atomic_write_text

    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _write_runs_csv(result: SweepResult) -> None:
    rows = []
    for r in result.runs:
        row = {k: _fmt_value(v) for k, v in r.setting.items()}
        row.update({"seed": r.seed, "status": r.status, "run_dir": str(r.run_dir), "error": r.error.splitlines()[0] if r.error else ""})
        row.update(_scalars(r.metrics) if r.metrics else {})
        rows.append(row)
    _write_csv(result.out / "runs.csv", rows)


def _label(row: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={row[k]}" for k in keys) or "base"


def _plot(result: SweepResult) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    m = result.main_metric
    keys = list(result.grid)
    labels = [_label(r, keys) for r in result.rows]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(labels) + 2), 3.6))
    x = np.arange(len(labels))
    means = [r[f"{m} mean"] for r in result.rows]
    stds = [0.0 if math.isnan(r[f"{m} std"]) else r[f"{m} std"] for r in result.rows]
    ax.errorbar(x, means, yerr=stds, fmt="o", capsize=4, color="C0", label="mean ± std over seeds")
    groups: dict[str, list[SweepRun]] = {}
    for r in result.runs:
        groups.setdefault(json.dumps(r.setting, sort_keys=True, default=str), []).append(r)
    for i, group in enumerate(groups.values()):
        vals = [_scalars(r.metrics).get(m) for r in group if r.metrics is not None]
        vals = [v for v in vals if v is not None]
        ax.scatter(np.full(len(vals), i + 0.15), vals, s=10, color="C1", alpha=0.7, label="seeds" if i == 0 else None)
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center", fontsize=8)
    ax.set_ylabel(m)
    ax.set_title(f"{m} per setting ({len(result.seeds)} seed(s))")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(result.out / "main_metric.png", dpi=120)
    plt.close(fig)


def print_table(result: SweepResult) -> None:
    """The per-setting table on the console (mean ± std over seeds)."""
    from rich.console import Console
    from rich.table import Table

    keys = list(result.grid)
    metrics = [c[: -len(" mean")] for c in (result.rows[0] if result.rows else {}) if c.endswith(" mean")]
    metrics = [m for m in metrics if m.split(".", 1)[1] not in ("epochs",)]
    table = Table(title=f"sweep {result.out} ({len(result.seeds)} seed(s); mean ± std)")
    for k in keys:
        table.add_column(k)
    table.add_column("ok/seeds", justify="right")
    for m in metrics:
        table.add_column(m + (" *" if m == result.main_metric else ""), justify="right")
    for row in result.rows:
        cells = []
        for m in metrics:
            mu, sd = row[f"{m} mean"], row[f"{m} std"]
            cells.append("" if math.isnan(mu) else f"{mu:.4f}" + ("" if math.isnan(sd) else f" ± {sd:.4f}"))
        ok = f"{row['ok']}/{row['seeds']}" + (f" ([red]{row['failed']} failed[/red])" if row["failed"] else "")
        table.add_row(*[str(row[k]) for k in keys], ok, *cells)
    Console(width=max(120, Console().width)).print(table)
