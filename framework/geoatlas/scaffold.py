"""``geoatlas new plugin NAME``: an installable third-party plugin package that passes its tests."""

from __future__ import annotations

import re
from pathlib import Path

_PYPROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "geoatlas-{dash}"
version = "0.1.0"
description = "{title}: a geoatlas plugin"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["geoatlas>=0.1,<1"]

[project.optional-dependencies]
test = ["pytest"]

# geoatlas discovers plugins through this entry-point group; the name is the plugin id.
[project.entry-points.geoatlas]
{name} = "geoatlas_{name}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
# geoopt (used by geoatlas) calls torch.jit.script, which torch 2.13 deprecates: not your plugin's problem
filterwarnings = ["ignore:`torch.jit.script` is deprecated:DeprecationWarning"]
'''

_INIT = '''"""{title}: a geoatlas plugin. Keep this module light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {{
    "id": "{name}",
    "title": "{title}",
    "summary": "Describe the method in one paragraph.",
    "api": ">=1,<2",
    "status": "experimental",
    # the paper(s) the plugin implements: `geoatlas info` shows them and `geoatlas cite` prints BibTeX, e.g.
    # {{"title": "...", "authors": ["First Author", "Second Author"], "year": 2024, "venue": "ICLR", "arxiv": "2401.00001"}}
    "papers": [],
    # what it is for, shown by `geoatlas list` and matched by `geoatlas search` (added to what is read from the
    # components and pipelines), e.g. "tasks": ["classification"], "inputs": ["point_cloud"], "symmetries": ["so3"]
    "keywords": [],
    "components": {{
        "encoder": {{"{name}_encoder": {{"target": ".components:{cls}Encoder", "summary": "a linear encoder (replace me)"}}}},
        "descriptor": {{"{name}_norms": {{"target": ".components:{cls}Norms", "summary": "per-sample Euclidean norms statistics (replace me)"}}}},
    }},
    "verified": [],
}}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
'''

_COMPONENTS = '''"""Components of the {name} plugin. Replace these examples with your method."""

from __future__ import annotations

import numpy as np
import torch

from geoatlas.interfaces import Descriptor, Encoder
from geoatlas.utils import check_finite


class {cls}Encoder(Encoder):
    """A linear map; ``in_features``/``out_features`` are filled in by pipelines."""

    input_type = "vector"

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.reshape(x.shape[0], -1))


class {cls}Norms(Descriptor):
    """Mean and standard deviation of point norms of each point cloud (rotation invariant)."""

    input_type = "point_cloud"
    per_sample = True

    def __init__(self, center: bool = True) -> None:
        self.center = center

    def transform(self, X):
        rows = []
        for pts in X:
            pts = np.asarray(pts, dtype=np.float64)
            check_finite(pts, "point cloud")
            if pts.ndim != 2 or len(pts) == 0:
                raise ValueError(f"each sample must be a non-empty (n_points, dim) array, got shape {{pts.shape}}")
            if self.center:
                pts = pts - pts.mean(0)
            r = np.linalg.norm(pts, axis=1)
            rows.append([r.mean(), r.std()])
        return np.asarray(rows)
'''

_TEST = '''import numpy as np
import torch

import geoatlas as ga
from geoatlas.testing import check_descriptor, check_equivariance


def test_plugin_is_discovered():
    names = {{c.full_name for c in ga.list_components()}}
    assert "{name}/{name}_encoder" in names
    assert "{name}/{name}_norms" in names


def test_descriptor_conventions_and_invariance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 20, 3))
    d = ga.create("descriptor", "{name}_norms")
    check_descriptor(d, X)
    f = lambda pts: torch.as_tensor(d.transform(pts.numpy()[None]))
    check_equivariance(f, ga.create("group", "se3"), torch.as_tensor(X[0]), output="invariant", atol=1e-9)


def test_encoder_shapes():
    enc = ga.create("encoder", "{name}_encoder", in_features=4, out_features=2)
    assert enc(torch.zeros(3, 4)).shape == (3, 2)
'''

_README = '''# {title}

A geoatlas plugin. Install it next to geoatlas and it is discovered automatically:

```bash
pip install -e .
geoatlas list '{name}*'
pytest
```

Replace the example components in `src/geoatlas_{name}/components.py` with your method, list them
in the manifest in `src/geoatlas_{name}/__init__.py`, and check them with `geoatlas.testing`.
'''


def _check_name(name: object) -> None:
    """A plugin id becomes a Python package name: a snake_case identifier that is not a keyword."""
    import keyword

    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name) or len(name) > 64:
        raise ValueError(f"plugin name {name!r} must be snake_case: a lowercase letter, then lowercase letters, "
                         "digits or _ (at most 64 characters), e.g. my_method")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or not name.isidentifier():
        raise ValueError(f"plugin name {name!r} is a Python keyword; it cannot name a package")
    if "__" in name or name.endswith("_"):
        raise ValueError(f"plugin name {name!r} must not contain '__' or end with '_'")


def new_plugin(name: str, directory: Path) -> Path:
    """Write the plugin package ``geoatlas-<name>`` under ``directory``; returns its path."""
    _check_name(name)
    dash = name.replace("_", "-")
    root = directory / f"geoatlas-{dash}"
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name or directory")
    cls = "".join(part.capitalize() for part in name.split("_"))
    title = name.replace("_", " ").capitalize()
    fmt = {"name": name, "dash": dash, "cls": cls, "title": title}
    pkg = root / "src" / f"geoatlas_{name}"
    (root / "tests").mkdir(parents=True)
    pkg.mkdir(parents=True)
    (root / "pyproject.toml").write_text(_PYPROJECT.format(**fmt), encoding="utf-8")
    (root / "README.md").write_text(_README.format(**fmt), encoding="utf-8")
    (pkg / "__init__.py").write_text(_INIT.format(**fmt), encoding="utf-8")
    (pkg / "components.py").write_text(_COMPONENTS.format(**fmt), encoding="utf-8")
    (pkg / "py.typed").write_text("", encoding="utf-8")
    (root / "tests" / f"test_{name}.py").write_text(_TEST.format(**fmt), encoding="utf-8")
    return root


# ---------------------------------------------------------------------------- built-in plugin
_B_INIT = '''"""Plugin: {title}. Keep this module light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {{
    "id": "{name}",
    "title": "{title}",
    "summary": "Describe the method in one paragraph: what it computes and when to use it.",
    "api": ">=1,<2",
    "status": "experimental",
    # the paper(s) the plugin implements: `geoatlas info` shows them and `geoatlas cite` prints BibTeX, e.g.
    # {{"title": "...", "authors": ["First Author", "Second Author"], "year": 2024, "venue": "ICLR", "arxiv": "2401.00001"}}
    "papers": [],
    # what it is for, shown by `geoatlas list` and matched by `geoatlas search` (added to what is read from the
    # components and pipelines), e.g. "tasks": ["classification"], "inputs": ["point_cloud"], "symmetries": ["so3"]
    "keywords": [],
    "components": {{
        "encoder": {{"{name}_encoder": {{"target": ".components:{cls}Encoder", "summary": "a linear encoder (replace me)"}}}},
        "descriptor": {{"{name}_norms": {{"target": ".components:{cls}Norms", "summary": "mean and spread of point norms (replace me)"}}}},
    }},
    "extras": [],
    "verified": ["the descriptor is invariant under random SE(3) elements (geoatlas.testing.check_equivariance)"],
    "claims": [
        {{
            "id": "rotation_invariance",
            "claim": "the descriptor does not change when a point cloud is rotated and translated",
            "paper": "exact invariance",
            "where": "replace with the paper's table or figure",
            "metric": "max abs change under 8 random SE(3) elements",
            "direction": "lower",
        }}
    ],
}}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
'''

_B_README = '''# {title}

What it is, in two sentences, and when to use it (the input it takes, the problem it solves).

## Equations

The paper's key equations, e.g. the descriptor $\\phi(X) = (\\bar r, \\sigma_r)$ with
$r_i = \\lVert x_i - \\bar x \\rVert$.

## Usage

```python
import geoatlas as ga
d = ga.create("descriptor", "{name}_norms")
```

The example pipeline `pipelines/example.yaml` runs it end to end (`geoatlas run`).

## Parameters

| component | parameter | default | meaning |
|---|---|---|---|
| `{name}_norms` | `center` | `True` | subtract the centroid first |

## Verification

What was checked against what (a library, a closed form, a property), with the tolerance and
the numbers: `tests/test_{name}.py`.

## Paper echo

`reproduce.py` measures each claim of the manifest and writes `results.json`
(`make reproduce PLUGIN={name}`); `geoatlas echo {name}` shows them beside the paper's numbers.

## Citation

Cite the paper this plugin implements (BibTeX here).
'''

_B_PIPELINE = '''name: {name}-example
description: the {name} descriptor on rotated 3-D shapes, then a logistic regression
seed: 0
data:
  dataset: shapes_3d
  params: {{n_per_class: 10, n_points: 32, rotate: true}}
  split: {{test: 0.3}}
steps:
  - descriptor: {name}_norms
model:
  classifier: logistic_regression
evaluate:
  metrics: [accuracy]
plots: false
'''

_B_TEST = '''from pathlib import Path

import numpy as np
import torch

import geoatlas as ga
from geoatlas.testing import check_descriptor, check_equivariance

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name


def test_components_are_registered():
    names = {{c.full_name for c in ga.list_components()}}
    assert any(n.startswith(PLUGIN + "/") and n.endswith("_norms") for n in names), names


def _norms():
    name = next(c.full_name for c in ga.list_components("descriptor") if c.plugin == PLUGIN)
    return ga.create("descriptor", name)


def test_descriptor_conventions_and_invariance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 20, 3))
    d = _norms()
    check_descriptor(d, X)
    f = lambda pts: torch.as_tensor(d.transform(pts.numpy()[None]))
    check_equivariance(f, ga.create("group", "se3"), torch.as_tensor(X[0]), output="invariant", atol=1e-9)


def test_bad_input_is_refused():
    import pytest

    with pytest.raises(ValueError, match="non-empty"):
        _norms().transform([np.zeros((0, 3))])


def test_pipeline_runs(tmp_path):
    own = _norms()  # noqa: F841  (the plugin's own descriptor must create)
    full = next(c.full_name for c in ga.list_components("descriptor") if c.plugin == PLUGIN)
    for spec in sorted((HERE / "pipelines").glob("*.yaml")):
        # the full name keeps the pipeline on this folder's component even when a copy of the
        # folder provides the same bare name
        text = spec.read_text().replace("descriptor: " + full.split("/")[1], "descriptor: " + full)
        res = ga.Pipeline.from_yaml(text).run(runs_root=tmp_path, progress=False)
        assert 0.0 <= res["model"]["accuracy"] <= 1.0
'''

_B_REPRODUCE = '''"""Scaled-down reproduction of the paper's claims; writes results.json next to this file.

Run: ``make reproduce PLUGIN={name}`` (or ``python plugins/geoatlas_plugins/{name}/reproduce.py``).
"""

from __future__ import annotations

import numpy as np
import torch

import geoatlas as ga
from geoatlas.echo import Reproduction


def main() -> None:
    seeds = [0, 1, 2]
    rep = Reproduction(__file__, scale="3 seeds x 8 random SE(3) elements, clouds of 50 points", seeds=seeds)
    plugin = rep.manifest.id
    name = next(c.full_name for c in ga.list_components("descriptor") if c.plugin == plugin)
    d = ga.create("descriptor", name)
    worst = 0.0
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        X = torch.randn(50, 3, generator=gen, dtype=torch.float64)
        g = ga.create("group", "se3").sample(8, gen, dtype=torch.float64)
        base = d.transform(X.numpy()[None])
        for k in range(8):
            moved = ga.create("group", "se3").act(g[k], X, "point_cloud").numpy()
            worst = max(worst, float(np.abs(d.transform(moved[None]) - base).max()))
    rep.record("rotation_invariance", ours=worst, holds=worst < 1e-9)
    print(f"max change under SE(3): {{worst:.2e}}; wrote {{rep.write()}}")


if __name__ == "__main__":
    main()
'''


def new_builtin_plugin(name: str, collection: Path) -> Path:
    """Write a built-in plugin folder ``collection/<name>/`` (the one-folder layout): manifest with
    an example claim, components, README with the docs sections, a pipeline, tests that use the
    testing kit and a reproduce script that writes ``results.json``. It passes its tests at once."""
    _check_name(name)
    root = collection / name
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name")
    cls = "".join(part.capitalize() for part in name.split("_"))
    fmt = {"name": name, "cls": cls, "title": name.replace("_", " ").capitalize()}
    (root / "tests").mkdir(parents=True)
    (root / "pipelines").mkdir()
    (root / "__init__.py").write_text(_B_INIT.format(**fmt), encoding="utf-8")
    (root / "components.py").write_text(_COMPONENTS.format(**fmt), encoding="utf-8")
    (root / "README.md").write_text(_B_README.format(**fmt), encoding="utf-8")
    (root / "pipelines" / "example.yaml").write_text(_B_PIPELINE.format(**fmt), encoding="utf-8")
    (root / "tests" / f"test_{name}.py").write_text(_B_TEST.format(**fmt), encoding="utf-8")
    (root / "reproduce.py").write_text(_B_REPRODUCE.format(**fmt), encoding="utf-8")
    return root
