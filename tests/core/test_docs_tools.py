"""The docs tooling: formulas to MathML at build time, README list repair, the site check, and
the plugin catalogue behind `geoatlas list` / `search` / "Which plugin do I use?"."""

import re

import pytest

from geoatlas.catalogue import PluginRow, filter_rows, no_match_hint, search
from geoatlas.docscheck import static_problems
from geoatlas.docsmath import MathError, fix_lists, render_math


def test_inline_and_display_math_become_mathml():
    md = "Energy $E = mc^2$ and\n$$\\sum_{i=1}^n x_i \\le \\lVert x \\rVert_1$$\nend, price $5 and $10."
    out = render_math(md)
    assert out.count("<math") == 2 and 'display="block"' in out and "$$" not in out
    assert "$5 and $10" in out  # currency is not math
    assert "<msup>" in out and "<munderover>" in out


def test_math_inside_code_is_left_alone():
    md = "Use `$x$` literally.\n\n```python\ncost = \"$a$\"  # $b$\n```\nbut $y$ here"
    out = render_math(md)
    assert "`$x$`" in out and 'cost = "$a$"  # $b$' in out and out.count("<math") == 1


def test_a_formula_that_cannot_be_read_stops_the_build_with_its_page():
    with pytest.raises(MathError, match=r"page\.md: cannot render the formula"):
        render_math("bad $\\frac{1}{$ here $x$", "page.md")


def test_readme_lists_get_their_blank_line():
    md = "Example pipelines:\n- `a.yaml`\n- `b.yaml`\n\n```\ntext:\n- not a list\n```\n"
    out = fix_lists(md)
    assert "Example pipelines:\n\n- `a.yaml`\n- `b.yaml`" in out and "text:\n- not a list" in out


def test_docscheck_finds_raw_tex_and_broken_links(tmp_path):
    (tmp_path / "index.html").write_text('<p>ok <code>$x$</code> <math><mi>x</mi></math> <a href="a/">a</a></p>')
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<p>raw \\(x^2\\) and <a href="../missing/">gone</a></p>')
    problems = static_problems(tmp_path)
    assert len(problems) == 2
    assert any("a/index.html: raw TeX" in p for p in problems) and any("broken link '../missing/'" in p for p in problems)


ROWS = [
    PluginRow("ponita", "Fast, Expressive SE(n) Equivariant Networks", 2024, "experimental", ["encoder"],
              tasks=["classification"], inputs=["point_cloud"], symmetries=["se3"], summary="roto-translation equivariant"),
    PluginRow("poincare_resnet", "Poincaré ResNet", 2023, "experimental", ["encoder"], tasks=["classification"],
              inputs=["image"], summary="hyperbolic residual networks on the Poincaré ball"),
    PluginRow("fastrp", "FastRP", 2019, "experimental", ["descriptor"], tasks=["classification"], inputs=["graph_nodes"],
              summary="node embeddings by very sparse random projection"),
]


def test_search_words_symmetries_and_ranking():
    assert [r.id for _, r in search("rotation", ROWS)] == ["ponita"]  # se3 is a rotation group
    assert [r.id for _, r in search("hyperbolic", ROWS)] == ["poincare_resnet"]
    assert [r.id for _, r in search("node embeddings", ROWS)] == ["fastrp"]
    assert search("node hyperbolic", ROWS) == []  # every word must match
    hint = no_match_hint("hyprbolic", ROWS)
    assert "Did you mean 'hyperbolic'" in hint


def test_filters():
    assert [r.id for r in filter_rows(ROWS, input_type="image")] == ["poincare_resnet"]
    assert [r.id for r in filter_rows(ROWS, kind="descriptor", task="classification")] == ["fastrp"]
    assert filter_rows(ROWS, task="forecasting") == []


def test_stored_capabilities_match_the_code():
    """registry.yaml's capabilities (what `geoatlas list` shows without importing) are what the
    components and pipelines say; `geoatlas registry --write` regenerates them."""
    import yaml

    from geoatlas.catalogue import builtin_capabilities
    from geoatlas.layout import source_root

    stored = yaml.safe_load((source_root() / "registry.yaml").read_text())["capabilities"]
    assert stored == builtin_capabilities()
    assert "point_cloud" in stored["ponita"]["inputs"] and re.match(r"se\d|so\d", " ".join(stored["ponita"]["symmetries"]))
