"""Issue 21, class 2: hostile YAML must not hang or crash the validator.

Each case runs ``geoatlas validate`` in-process (``cli.main``) with a wall-clock budget and
checks: exit code 2, a one-paragraph error naming the file, no traceback, a bounded message.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from geoatlas.cli import main
from geoatlas.errors import SpecError
from geoatlas.pipeline.yamlio import MAX_DEPTH, MAX_NODES, load_yaml

BUDGET_S = 5.0


def _validate(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    rc = main(["validate", str(path), *extra])
    dt = time.perf_counter() - t0
    out = capsys.readouterr()
    return rc, out.err, dt


def _bomb(levels: int, fan: int = 9) -> str:
    text = 'a0: &a0 ["lol"]\n'
    for i in range(1, levels + 1):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]\n"
    return text


HOSTILE = {
    "billion_laughs": _bomb(10),
    "wide_bomb_in_params": "name: x\ndata: {dataset: sklearn_digits, params: &p {a: &q [1,2,3,4,5,6,7,8,9,10]}}\n"
                           + "".join(f"k{i}: &q{i} [" + ",".join([f"*{'q' if i == 0 else 'q' + str(i - 1)}"] * 10) + "]\n"
                                     for i in range(8)),
    "recursive_alias": "name: x\ndata: &d {dataset: *d}\n",
    "recursive_list": "name: &a [*a, 1]\n",
    "deep_brackets": "name: x\ndata: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep_mappings": "name: x\ndata: " + "{a: " * 300 + "1" + "}" * 300 + "\n",
    "deep_block": "name: x\n" + "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",
    "huge_value_over_limit": 'name: "' + "x" * 4_900_000 + '"\n',
    "many_values": "name: [" + ",".join(["1"] * 300_000) + "]\n",
    "ten_megabytes": ("k" * 60 + ": [1, 2, 3]\n") * 140_000,
    "complex_key": "? [a, b]\n: 1\nname: x\n",
    "unterminated": 'name: "abc\n' + "x" * 500_000,
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_yaml_is_refused_quickly_without_traceback(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / f"{case}.yaml"
    p.write_text(HOSTILE[case], encoding="utf-8")
    rc, err, dt = _validate(p, capsys)
    assert rc == 2, err
    assert dt < BUDGET_S, f"{case} took {dt:.1f} s"
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(p) in err or p.name in err
    assert len(err) < 5000, f"{case}: the error message is {len(err)} characters"


@pytest.mark.parametrize("content,expect", [
    (bytes(range(256)) * 40, "not a text file"),
    ("name: caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
    ("name: x\n".encode("utf-16"), "not a text file"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a text file"),
])
def test_binary_and_non_utf8_files_are_named(tmp_path: Path, content: bytes, expect: str, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "spec.yaml"
    p.write_bytes(content)
    rc, err, _ = _validate(p, capsys)
    assert rc == 2 and expect in err and str(p) in err and "Traceback" not in err


def test_utf8_with_bom_is_text(tmp_path: Path) -> None:
    """Control: a UTF-8 file with a byte-order mark is read (not refused as binary)."""
    p = tmp_path / "spec.yaml"
    p.write_bytes("\ufeffname: café\n".encode())
    from geoatlas.pipeline.yamlio import read_spec_source

    text, _, _ = read_spec_source(p)
    assert load_yaml(text)[0] == {"name": "café"}


def test_huge_values_are_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A value under the size limit but far longer than a message: the error repeats a bounded part."""
    big = "y" * 800_000
    for body in (f'name: x\ndata: {{dataset: "{big}"}}\nmodel: {{encoder: mlp}}\n',
                 f'name: x\ndata: {{dataset: sklearn_digits}}\nmodel: {{encoder: mlp, params: {{hidden: "{big}"}}}}\n',
                 f'name: x\ndata: {{dataset: sklearn_digits}}\nmodel: {{encoder: mlp}}\n{big}: 1\n'):
        p = tmp_path / "big.yaml"
        p.write_text(body, encoding="utf-8")
        rc, err, dt = _validate(p, capsys)
        assert rc == 2 and len(err) < 5000 and dt < 3 * BUDGET_S, (len(err), dt)


def test_aliases_that_do_not_explode_still_work() -> None:
    """Control: ordinary anchors (shared parameters) are accepted and line numbers are kept."""
    text = "name: x\nshared: &p {hidden: [8]}\nmodels:\n  a: {encoder: mlp, params: *p}\n  b: {encoder: mlp, params: *p}\n"
    data, lines = load_yaml(text)
    assert data["models"]["a"]["params"] == {"hidden": [8]} == data["models"]["b"]["params"]
    assert lines[("models", "b")] == 5 and lines[("shared", "hidden")] == 2


def test_limits_are_what_they_say() -> None:
    ok = "name: [" + ",".join(["1"] * (MAX_NODES - 10)) + "]\n"
    assert len(load_yaml(ok)[0]["name"]) == MAX_NODES - 10
    with pytest.raises(SpecError, match="more than"):
        load_yaml("name: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n")
    deep_ok = "name: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "\n"
    load_yaml(deep_ok)
    with pytest.raises(SpecError, match="nested"):
        load_yaml("name: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")


def test_python_tags_still_refused() -> None:
    for tag in ("!!python/object/apply:os.system ['touch /tmp/x']", "!!python/name:os.system", "!custom 3"):
        with pytest.raises(SpecError, match="refused"):
            load_yaml(f"name: {tag}\n")
