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


def plugin_page(manifest: Any, readme: str | None) -> str:
    head = [f"# {manifest.title}", "", f"`plugin: {manifest.id}` · status: {manifest.status}", ""]
    if manifest.summary:
        head += [manifest.summary, ""]
    papers = _paper_lines(manifest)
    if papers:
        head += ["**Paper(s)**", ""] + papers + [""]
    head += ["| kind | name | summary |", "|---|---|---|"]
    for kind, table in manifest.components.items():
        for name, spec in table.items():
            head.append(f"| {kind} | `{name}` | {spec.summary} |")
    head.append("")
    if manifest.extras:
        head += [f"Needs: `pip install 'geoatlas[{','.join(manifest.extras)}]'`", ""]
    if manifest.verified:
        head += ["**Verified**", ""] + [f"- {v}" for v in manifest.verified] + [""]
    from .echo import echo_rows

    rows = echo_rows([manifest.id]) if manifest.claims else []
    if rows:
        head += ["**Paper echo** (generated from the manifest's claims and `results.json`; see the [echo table](../echo.md))", "",
                 "| claim | paper | ours | holds? |", "|---|---|---|---|"]
        for r in rows:
            head.append(f"| {r.claim} ({r.metric}) | {r.paper} ({r.where}) | {r.ours} | {r.holds} |")
        head.append("")
    body = ""
    if readme:
        text = readme
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        if first.startswith("# "):
            text = text.lstrip().split("\n", 1)[1] if "\n" in text.lstrip() else ""
        body = "\n## From the plugin README\n\n" + _strip_relative_links(text)
    return "\n".join(head) + body


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
    from .echo import echo_markdown, echo_rows
    from .layout import builtin_ids, plugin_dir
    from .plugins import catalog

    cat = catalog()
    manifests = [cat.statuses[pid].manifest for pid in builtin_ids()]
    pdir = docs_dir / "plugins"
    pdir.mkdir(parents=True, exist_ok=True)
    written = []
    index = ["# Plugins", "", "Generated from the built-in plugins' manifests.", "", "| plugin | title | components | status |", "|---|---|---|---|"]
    for m in manifests:
        folder = plugin_dir(m.id)
        readme_path = folder / "README.md" if folder is not None else None
        readme = readme_path.read_text(encoding="utf-8") if readme_path is not None and readme_path.exists() else None
        page = pdir / f"{m.id}.md"
        page.write_text(plugin_page(m, readme), encoding="utf-8")
        written.append(page)
        n = sum(len(t) for t in m.components.values())
        index.append(f"| [{m.id}]({m.id}.md) | {m.title} | {n} | {m.status} |")
    (pdir / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    written.append(pdir / "index.md")
    ref = docs_dir / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "yaml.md").write_text(yaml_reference(), encoding="utf-8")
    written.append(ref / "yaml.md")
    (docs_dir / "echo.md").write_text(echo_markdown(echo_rows(builtin_ids())), encoding="utf-8")
    written.append(docs_dir / "echo.md")
    return written
