"""Generate docs pages: one per plugin (from registry.yaml and the plugin README) and the
YAML reference (from the pipeline spec schema)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)(\s+\"[^\"]*\")?\)")


def _strip_relative_links(text: str) -> str:
    """Relative links in a plugin README point into the source tree, not the site: keep the text."""

    def repl(m: re.Match[str]) -> str:
        bang, label, url = m.group(1), m.group(2), m.group(3)
        if re.match(r"^(https?:|mailto:|#)", url):
            return m.group(0)
        return "" if bang else label

    out, in_code = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        out.append(line if in_code else _LINK.sub(repl, line))
    return "\n".join(out) + "\n"


def _paper_lines(manifest: Any) -> list[str]:
    lines = []
    for p in manifest.papers:
        arx = f" [arXiv:{p.arxiv}](https://arxiv.org/abs/{p.arxiv})" if p.arxiv else ""
        lines.append(f"- *{p.title}* — {', '.join(p.authors)}. {p.venue or ''} {p.year}.{arx}")
    return lines


def plugin_page(manifest: Any, readme: str | None, pipelines: list[Path] | None = None, row: Any = None) -> str:
    """A plugin's docs page: its README (the page's body, with its own title), then a generated
    card — components, what it serves, example pipelines with their YAML, the paper echo and the
    BibTeX. Without a README the card stands alone under the manifest's title."""
    from .cite import paper_bibtex

    out: list[str] = []
    if readme and readme.strip():
        out.append(_strip_relative_links(readme).rstrip() + "\n")
    else:
        out += [f"# {manifest.title}", ""]
        if manifest.summary:
            out += [manifest.summary, ""]
    out += ["## At a glance (generated)", "",
            f"`plugin: {manifest.id}` · status: **{manifest.status}**"
            + (f" · needs `pip install 'geoatlas[{','.join(manifest.extras)}]'`" if manifest.extras else ""), ""]
    if row is not None and (row.tasks or row.inputs or row.symmetries):
        facts = [("tasks", row.tasks), ("input types", row.inputs), ("symmetries (groups)", row.symmetries)]
        out += [" · ".join(f"{k}: {', '.join(f'`{x}`' for x in v)}" for k, v in facts if v), ""]
    papers = _paper_lines(manifest)
    if papers:
        out += ["**Paper(s)**", ""] + papers + [""]
    out += ["| kind | name | summary |", "|---|---|---|"]
    for kind, table in manifest.components.items():
        for name, spec in table.items():
            out.append(f"| {kind} | `{name}` | {spec.summary} |")
    out.append("")
    if manifest.verified:
        out += ["**Verified**", ""] + [f"- {v}" for v in manifest.verified] + [""]
    pinned = _pinned_metrics()
    measured = [(spec, pinned.get(_repo_rel(spec))) for spec in pipelines or []]
    if any(m for _, m in measured):
        out += ["**Example pipelines, measured** (a default `geoatlas run`: one torch thread, the spec's seed; these "
                "numbers are `tests/core/data/pinned_metrics.json`, which the test suite re-runs and compares on every CI "
                "run, so they are never typed by hand)", ""]
        from .pipeline.compare import columns, markdown_table, model_rows

        for spec, models in measured:
            if not models:
                continue
            rows = model_rows({"models": models})
            cols = [c for c in columns(rows) if c not in ("epochs",)][:8]
            out += [f"`{spec.name}`", "", *markdown_table(rows, cols), ""]
    for spec in pipelines or []:
        text = spec.read_text(encoding="utf-8").rstrip()
        out += [f'??? example "Pipeline `{spec.name}` — `geoatlas run {spec.name}`"', "", "    ```yaml"]
        out += [("    " + ln) if ln else "" for ln in text.splitlines()] + ["    ```", ""]
    from .echo import echo_rows

    rows = echo_rows([manifest.id]) if manifest.claims else []
    if rows:
        out += ["**Paper echo** (generated from the manifest's claims and `results.json`; see the [echo table](../echo.md))", "",
                "| claim | paper | ours | holds? |", "|---|---|---|---|"]
        for r in rows:
            out.append(f"| {r.claim} ({r.metric}) | {r.paper} ({r.where}) | {r.ours} | {r.holds} |")
        out.append("")
    if manifest.papers:
        out += ["**Cite** (`geoatlas cite " + manifest.id + "`)", "", "```bibtex"]
        out += ["\n".join(paper_bibtex(p) for p in manifest.papers).rstrip(), "```", ""]
    return "\n".join(out)


def _repo_rel(path: Path) -> str:
    from .layout import source_root

    try:
        return str(path.resolve().relative_to(source_root()))
    except ValueError:
        return str(path)


def _pinned_metrics() -> dict[str, Any]:
    """The CI-checked metrics of every pipeline (``tests/core/data/pinned_metrics.json``), or {}."""
    import json

    from .layout import source_root

    path = source_root() / "tests" / "core" / "data" / "pinned_metrics.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("pipelines", {})


def plugins_index(rows: list[Any]) -> str:
    out = ["# Plugins", "",
           "One row per built-in plugin (generated). `geoatlas list` shows the same in a terminal and "
           "`geoatlas search WORDS` searches them; [Which plugin do I use?](../which-plugin.md) groups them by data and task.", "",
           "| plugin | paper | year | kinds | tasks | inputs | symmetries | status |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| [{r.id}]({r.id}.md) | {r.title} | {r.year or ''} | {', '.join(r.kinds)} | {', '.join(r.tasks)} | "
                   f"{', '.join(r.inputs)} | {', '.join(r.symmetries)} | {r.status} |")
    return "\n".join(out) + "\n"


_INPUT_TITLES = {
    "point_cloud": "Point clouds (3-D shapes, molecules, particles)", "graph": "Graphs (one label per graph)",
    "graph_nodes": "Nodes of one graph", "image": "Images", "sequence": "Sequences and trajectories",
    "series": "Time series", "spd": "SPD / covariance matrices", "table": "Tables of categorical fields (click-through data)",
    "triples": "Knowledge-graph triples", "vector": "Feature vectors", "features": "Feature vectors (per point)",
}


def which_plugin(rows: list[Any]) -> str:
    """The cheatsheet: for each input type, the plugins by task, with their symmetries."""
    out = ["# Which plugin do I use?", "",
           "Find your **data** below, then your **task**; the symmetry column says which transformations a "
           "method respects (its groups: `so3` rotations, `se3` rigid motions, `permutations`, ...). "
           "Generated from the plugins' components and example pipelines; in a terminal, "
           "`geoatlas list --input point_cloud --task classification` or `geoatlas search rotation` give the same.", ""]
    inputs = sorted({i for r in rows for i in r.inputs}, key=lambda i: list(_INPUT_TITLES).index(i) if i in _INPUT_TITLES else 99)
    for inp in inputs:
        out += [f"## {_INPUT_TITLES.get(inp, inp)}", "", f"`--input {inp}`", "", "| task | plugin | paper | symmetries |", "|---|---|---|---|"]
        for r in sorted((r for r in rows if inp in r.inputs), key=lambda r: (r.tasks[:1] or ["~"], r.id)):
            out.append(f"| {', '.join(r.tasks) or '—'} | [{r.id}](plugins/{r.id}.md) | {r.title} ({r.year or ''}) | "
                       f"{', '.join(r.symmetries) or '—'} |")
        out.append("")
    rest = [r for r in rows if not r.inputs]
    if rest:
        out += ["## Building blocks (any data)", "", "Manifolds, groups, losses, metrics, measures and tasks used by the plugins above.", "",
                "| plugin | provides | what |", "|---|---|---|"]
        for r in rest:
            out.append(f"| [{r.id}](plugins/{r.id}.md) | {', '.join(r.kinds)} | {r.title} |")
        out.append("")
    return "\n".join(out)


def yaml_reference() -> str:
    from .pipeline.spec import PipelineSpec

    schema = PipelineSpec.model_json_schema()
    defs = schema.get("$defs", {})
    out = [
        "# YAML reference",
        "",
        "Generated from the pipeline schema (`geoatlas schema` prints it as JSON Schema, with the "
        "registered component names as enums, for editors). Unknown keys are errors everywhere.",
        "",
    ]

    def section(title: str, sch: dict[str, Any]) -> None:
        out.extend([f"## {title}", "", "| key | type | default | description |", "|---|---|---|---|"])
        req = set(sch.get("required", []))
        for key, prop in sch.get("properties", {}).items():
            typ = _type(prop)
            default = "*required*" if key in req else f"`{prop.get('default')!r}`" if "default" in prop else ""
            out.append(f"| `{key}` | {typ} | {default} | {prop.get('description', '')} |")
        out.append("")

    section("Top level", schema)
    titles = {"ComponentRef": "task / loss / group reference (a name, or {name, params})", "TrainOverrides": "train (per model)",
              "ViewSpec": "pretrain.views", "PretrainSpec": "pretrain", "MeasureSpec": "measures (each entry)"}
    for name in ("ComponentRef", "DataSpec", "SplitSpec", "StepSpec", "ModelSpec", "TrainSpec", "TrainOverrides", "PretrainSpec",
                 "ViewSpec", "EvaluateSpec", "PerturbationSpec", "MeasureSpec", "ExecutorSpec"):
        if name in defs:
            section(titles.get(name, name.replace("Spec", "")), defs[name])
    return "\n".join(out) + "\n"


def _type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(f"`{e}`" for e in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "$ref" in prop:
        return prop["$ref"].split("/")[-1]
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if prop.get("type") == "object":
        add = prop.get("additionalProperties")
        return f"mapping of {_type(add)}" if isinstance(add, dict) and add else "mapping"
    return str(prop.get("type", "any"))


def generate(docs_dir: Path) -> list[Path]:
    """Write one page per built-in plugin (from its manifest and folder), the plugin index, the
    paper-echo table and the YAML reference. Plugins are found by walking the built-in collection,
    so a new plugin folder gets its page with no other edit."""
    from .catalogue import plugin_rows
    from .echo import echo_markdown, echo_rows
    from .layout import builtin_ids, plugin_dir, plugin_pipelines
    from .plugins import catalog

    cat = catalog()
    ids = builtin_ids()
    manifests = [cat.statuses[pid].manifest for pid in ids]
    rows = {r.id: r for r in plugin_rows() if r.id in ids}
    pdir = docs_dir / "plugins"
    pdir.mkdir(parents=True, exist_ok=True)
    written = []
    for m in manifests:
        folder = plugin_dir(m.id)
        readme_path = folder / "README.md" if folder is not None else None
        readme = readme_path.read_text(encoding="utf-8") if readme_path is not None and readme_path.exists() else None
        page = pdir / f"{m.id}.md"
        page.write_text(plugin_page(m, readme, plugin_pipelines(m.id), rows.get(m.id)), encoding="utf-8")
        written.append(page)
    (pdir / "index.md").write_text(plugins_index([rows[i] for i in ids if i in rows]), encoding="utf-8")
    written.append(pdir / "index.md")
    (docs_dir / "which-plugin.md").write_text(which_plugin([rows[i] for i in ids if i in rows]), encoding="utf-8")
    written.append(docs_dir / "which-plugin.md")
    ref = docs_dir / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "yaml.md").write_text(yaml_reference(), encoding="utf-8")
    written.append(ref / "yaml.md")
    (docs_dir / "echo.md").write_text(echo_markdown(echo_rows(builtin_ids())), encoding="utf-8")
    written.append(docs_dir / "echo.md")
    return written
