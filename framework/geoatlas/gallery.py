"""The docs gallery: every cross-plugin example pipeline (``examples/pipelines/*.yaml``) is run
and gets one page — what it shows (the spec's leading comments), the spec, the results table,
its plots and its runtime. Numbers on these pages come from these runs, never typed by hand."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def _description(text: str) -> str:
    lines = []
    for ln in text.splitlines():
        if ln.startswith("#"):
            lines.append(ln.lstrip("#").strip())
        elif ln.strip():
            break
    return " ".join(x for x in lines if x)


def run_example(spec: Path, out_dir: Path, root: Path) -> dict[str, Any]:
    """Run one example and write its page; returns a summary row for the index."""
    import torch

    from .pipeline import Pipeline
    from .pipeline.compare import columns, markdown_table, model_rows

    torch.set_num_threads(1)
    text = spec.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = Pipeline.from_yaml(spec).run(runs_root=tmp, progress=False)
        seconds = time.perf_counter() - t0
        img = out_dir / "img"
        img.mkdir(parents=True, exist_ok=True)
        plots = []
        for png in sorted((res.run_dir / "plots").glob("*.png")) if (res.run_dir / "plots").exists() else []:
            target = img / f"{spec.stem}__{png.name}"
            shutil.copyfile(png, target)
            plots.append(target.name)
        rows = model_rows(res.metrics)
        table = markdown_table(rows, columns(rows)) if rows else []
        env = json.loads((res.run_dir / "environment.json").read_text(encoding="utf-8"))
    rel = spec.relative_to(root)
    page = [f"# {res.metrics.get('name', spec.stem)}", "", _description(text) or "", "",
            f"Run it: `geoatlas run {rel}` — task **{res.metrics.get('task')}** on `{res.metrics['data']['dataset']}` "
            f"({res.metrics['data']['data_type']}, {res.metrics['data']['n_train']} train / {res.metrics['data']['n_test']} test).", "",
            "## Results", "", *table, "",
            f"Measured by the docs build: {seconds:.1f} s on {env['torch_threads']} torch thread(s), seed {env['seed']}, "
            f"torch {env['libraries'].get('torch')}, {env['platform']}. A default `geoatlas run` gives the same numbers "
            "(one thread, same seed).", ""]
    for name in plots:
        page += [f"![{name}](img/{name}){{ .gallery-figure }}", ""]
    page += ["## The spec", "", "```yaml", text.rstrip(), "```", ""]
    (out_dir / f"{spec.stem}.md").write_text("\n".join(page), encoding="utf-8")
    return {"stem": spec.stem, "name": res.metrics.get("name", spec.stem), "task": res.metrics.get("task"),
            "dataset": res.metrics["data"]["dataset"], "seconds": seconds, "models": len(res.metrics["models"]),
            "description": _description(text)}


def build_gallery(docs_dir: Path, specs: list[Path], root: Path) -> list[Path]:
    out_dir = docs_dir / "gallery"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    rows = []
    for spec in specs:
        print(f"gallery: running {spec.relative_to(root)}", flush=True)
        rows.append(run_example(spec, out_dir, root))
    index = ["# Gallery", "", "Every cross-plugin example pipeline in `examples/pipelines/`, run by the docs build "
             "(each plugin's own pipelines are on its page). Each page shows the spec, the results and the plots.", "",
             "| example | task | data | models | runtime | what it shows |", "|---|---|---|---|---|---|"]
    for r in rows:
        what = r["description"][:160] + ("…" if len(r["description"]) > 160 else "")
        index.append(f"| [{r['name']}]({r['stem']}.md) | {r['task']} | `{r['dataset']}` | {r['models']} | {r['seconds']:.0f} s | {what} |")
    (out_dir / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return [out_dir / "index.md"] + [out_dir / f"{r['stem']}.md" for r in rows]
