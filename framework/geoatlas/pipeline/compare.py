"""Results as tables: one row per model of a run (``results.csv`` in every run directory) and
several runs side by side (``geoatlas compare RUN_DIR...``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def model_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per model: its scalar metrics, then ``<perturbation>.<metric>`` columns."""
    rows = []
    for label, res in (metrics.get("models") or {}).items():
        row: dict[str, Any] = {"model": label}
        for k, v in res.items():
            if isinstance(v, (int, float, str)) or v is None:
                row[k] = v
            elif k == "perturbations" and isinstance(v, dict):
                for cond, vals in v.items():
                    for mk, mv in (vals or {}).items():
                        if isinstance(mv, (int, float)):
                            row[f"{cond}.{mk}"] = mv
        rows.append(row)
    return rows


def columns(rows: list[dict[str, Any]], skip: tuple[str, ...] = ("model", "run")) -> list[str]:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in skip and k not in cols:
                cols.append(k)
    return cols


def markdown_table(rows: list[dict[str, Any]], cols: list[str]) -> list[str]:
    """Lines of a markdown table of ``rows`` (``model`` first, then ``cols``; floats to 4
    significant digits), as the docs' plugin pages and gallery show results."""
    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

    out = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    out += [f"| {r['model']} | " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return out


def write_results_csv(metrics: dict[str, Any], path: Path) -> Path:
    import csv
    import io

    from ..utils import atomic_write_text

    rows = model_rows(metrics)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["model", *columns(rows)])
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    return path


def compare_runs(run_dirs: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows ``{run, model, metric...}`` for every model of every run, and the metric columns."""
    from ..errors import SpecError

    table: list[dict[str, Any]] = []
    for d in run_dirs:
        path = d / "metrics.json"
        if not path.exists():
            raise SpecError(f"{str(d)!r} is not a finished run directory (no metrics.json)")
        metrics = json.loads(path.read_text(encoding="utf-8"))
        name = f"{d.parent.name}/{d.name}"
        for row in model_rows(metrics):
            table.append({"run": name, **row})
    return table, columns(table)
