"""Check the built docs site: ``python -m geoatlas.docscheck [site]``.

Always: no raw TeX in any page's text (formulas are MathML, see ``geoatlas.docsmath``) and no
broken links between pages. When Chromium is installed (Debian's ``chromium``): key pages are
rendered headless, at a desktop and a phone width, and fail on content wider than the window, a
table of contents over the content, formulas drawn with no width, or raw TeX on screen
(``docs/javascripts/layoutcheck.js`` reports them). Exit status 1 lists every problem.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

#: pages rendered in Chromium (those that exist in the site)
KEY_PAGES = ("index.html", "which-plugin/index.html", "plugins/index.html", "plugins/ponita/index.html",
             "plugins/poincare_resnet/index.html", "plugins/multiparameter_persistence/index.html",
             "plugins/neural_snowflake/index.html", "gallery/index.html", "gallery/quickstart/index.html", "echo/index.html")
_RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\(frac|mathbb|mathrm|sum|int|alpha|beta|lambda|sigma|theta|mathcal|left|right)\b")
_SKIP_TAGS = {"code", "pre", "script", "style", "math", "textarea"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.text.append(data)


def static_problems(site: Path) -> list[str]:
    problems: list[str] = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site)
        if rel.parts[0] in ("assets", "search") or rel.name == "404.html":
            continue
        parser = _Page()
        parser.feed(page.read_text(encoding="utf-8"))
        text = "".join(parser.text)
        for m in _RAW_TEX.finditer(text):
            ctx = text[max(0, m.start() - 40): m.end() + 40].replace("\n", " ")
            problems.append(f"{rel}: raw TeX {m.group(0)!r} in the text: …{ctx}…")
            break
        for href in parser.links:
            u = urlparse(href)
            if u.scheme or href.startswith(("#", "mailto:", "//")):
                continue
            target = (page.parent / unquote(u.path)).resolve() if u.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link {href!r}")
    return problems


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def rendered_problems(site: Path, browser: str) -> list[str]:
    problems: list[str] = []
    for rel in KEY_PAGES:
        page = site / rel
        if not page.exists():
            continue
        for width, height in ((1280, 900), (420, 900)):
            cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   f"--window-size={width},{height}", "--virtual-time-budget=4000", "--dump-dom",
                   page.resolve().as_uri() + "?layoutcheck"]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=90).stdout
            except subprocess.TimeoutExpired:
                problems.append(f"{rel} @{width}px: Chromium timed out")
                continue
            m = re.search(r'data-layoutcheck="([^"]*)"', out)
            if not m:
                problems.append(f"{rel} @{width}px: the layout check did not run (no report in the rendered page)")
                continue
            report = json.loads(html.unescape(m.group(1)))
            problems += [f"{rel} @{width}px: {p}" for p in report["problems"]]
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    site = Path(args[0] if args else "site")
    if not (site / "index.html").exists():
        print(f"docscheck: {site} has no index.html; build the site first (mkdocs build)", file=sys.stderr)
        return 2
    problems = static_problems(site)
    browser = chromium()
    if browser:
        problems += rendered_problems(site, browser)
    for p in problems:
        print(f"[FAIL] {p}")
    n_pages = sum(1 for _ in site.rglob("*.html"))
    how = f"rendered {len(KEY_PAGES)} key pages in {Path(browser).name} at 1280 and 420 px" if browser else "Chromium not found: rendering skipped"
    print(f"docscheck: {n_pages} pages, {len(problems)} problem(s); {how}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
