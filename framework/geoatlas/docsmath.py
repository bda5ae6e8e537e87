"""Math in the docs, rendered at build time: ``$...$`` and ``$$...$$`` (and ``\\(...\\)``,
``\\[...\\]``) become MathML with ``latex2mathml``, so pages need no script and no network, and
browsers draw the formulas natively. Code spans and fenced code are left alone. A formula the
converter cannot read stops the build with the page and the formula (never raw TeX on a page)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

#: macros latex2mathml lacks, rewritten to ones it has (same rendering)
_REWRITES: list[tuple[str, str]] = [
    (r"\operatorname*", r"\operatorname"),
    (r"\tfrac", r"\frac"), (r"\dfrac", r"\frac"),
    (r"\lVert", r"\|"), (r"\rVert", r"\|"), (r"\lvert", r"|"), (r"\rvert", r"|"),
    (r"\Vert", r"\|"), (r"\vert", r"|"),
    (r"\coloneqq", r":="), (r"\eqqcolon", r"=:"),
    (r"\bigl", r""), (r"\bigr", r""), (r"\Bigl", r""), (r"\Bigr", r""), (r"\biggl", r""), (r"\biggr", r""),
    (r"\bigg", r""), (r"\Bigg", r""), (r"\big", r""), (r"\Big", r""),
    (r"\!", r""), (r"\,", r" "), (r"\;", r" "), (r"\:", r" "),
    (r"\displaystyle", r""), (r"\textstyle", r""),
    (r"\top", r"\intercal"),
    (r"\arg", r"\mathrm{arg}"),
]


class MathError(ValueError):
    """A formula that could not be converted (the build stops and names it)."""


def _prepare(tex: str) -> str:
    for a, b in _REWRITES:
        tex = re.sub(re.escape(a) + r"(?![A-Za-z])", lambda _m, b=b: b, tex)
    # \operatorname{name} -> \mathrm{name}
    tex = re.sub(r"\\operatorname\{([^{}]*)\}", r"\\mathrm{\1}", tex)
    # aligned/align environments -> one row per line in an array-like layout latex2mathml reads
    tex = re.sub(r"\\begin\{(aligned|align\*?|gathered)\}", r"\\begin{matrix}", tex)
    tex = re.sub(r"\\end\{(aligned|align\*?|gathered)\}", r"\\end{matrix}", tex)
    return tex.strip()


def to_mathml(tex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    try:
        out = convert(_prepare(tex), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many exception types
        raise MathError(f"cannot render the formula {tex!r}: {type(exc).__name__}: {exc}") from None
    # keep the TeX as an annotation-free title for copy/paste, escaped
    return out.replace("<math ", f'<math title="{html.escape(tex.strip(), quote=True)}" ', 1)


_FENCE = re.compile(r"^(\s*)(```|~~~)")
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?!\s)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?![\d$])|\\\((.+?)\\\)", re.S)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _convert_text(text: str, convert: Callable[[str, bool], str]) -> str:
    """Math in a piece of markdown that holds no fenced code."""

    def display(m: re.Match[str]) -> str:
        return "\n\n" + convert(m.group(1) if m.group(1) is not None else m.group(2), True) + "\n\n"

    # protect code spans first, then display math (may span lines), then inline math
    spans: list[str] = []

    def hide(m: re.Match[str]) -> str:
        spans.append(m.group(0))
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(hide, text)
    text = _DISPLAY.sub(display, text)
    text = _INLINE.sub(lambda m: convert(m.group(1) if m.group(1) is not None else m.group(2), False), text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


def render_math(markdown: str, page: str = "<page>") -> str:
    """``markdown`` with every formula outside code replaced by MathML."""

    def convert(tex: str, display: bool) -> str:
        try:
            return to_mathml(tex, display)
        except MathError as exc:
            raise MathError(f"{page}: {exc}") from None

    out: list[str] = []
    chunk: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        m = _FENCE.match(line)
        if fence is None and m:
            out.append(_convert_text("".join(chunk), convert))
            chunk = []
            fence = m.group(2)
            out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
        else:
            chunk.append(line)
    out.append(_convert_text("".join(chunk), convert))
    return "".join(out)


def fix_lists(markdown: str) -> str:
    """Python-Markdown needs a blank line before a list that follows a paragraph line (GitHub
    does not): insert it, outside code, so README lists do not run on as one paragraph."""
    out: list[str] = []
    fence = False
    prev = ""
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fence = not fence
        is_item = bool(re.match(r"^\s{0,3}([-*+]|\d+[.)])\s+\S", line))
        prev_item = bool(re.match(r"^\s*([-*+]|\d+[.)])\s+\S", prev))
        if (not fence and is_item and prev.strip() and not prev_item and not prev.startswith((" ", "\t", "|", "#", ">"))):
            out.append("")
        out.append(line)
        prev = line
    return "\n".join(out) + ("\n" if markdown.endswith("\n") else "")
