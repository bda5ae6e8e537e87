"""mkdocs hooks: formulas become MathML at build time (no script, no network), README lists get
the blank line Python-Markdown needs (see ``geoatlas.docsmath``), and the generated plugin and
gallery pages join the navigation (so they have a sidebar entry and previous/next links)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geoatlas.docsmath import fix_lists, render_math


def _expand(nav: list[Any], docs: Path, folder: str, title: str) -> None:
    for i, item in enumerate(nav):
        if isinstance(item, dict):
            for key, value in item.items():
                if value == f"{folder}/index.md":
                    pages = sorted(p.name for p in (docs / folder).glob("*.md") if p.name != "index.md")
                    item[key] = [{title: f"{folder}/index.md"}] + [f"{folder}/{p}" for p in pages]
                elif isinstance(value, list):
                    _expand(value, docs, folder, title)


def on_config(config: Any, **kwargs: Any) -> Any:
    docs = Path(config["docs_dir"])
    nav = config.get("nav") or []
    _expand(nav, docs, "plugins", "All plugins")
    _expand(nav, docs, "gallery", "All examples")
    return config


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    return render_math(fix_lists(markdown), page.file.src_path)
