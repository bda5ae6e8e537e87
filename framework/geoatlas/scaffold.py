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
'''

_INIT = '''"""{title}: a geoatlas plugin. Keep this module light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {{
    "id": "{name}",
    "title": "{title}",
    "summary": "Describe the method in one paragraph.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [],
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
geoatlas list {name}*
pytest
```

Replace the example components in `src/geoatlas_{name}/components.py` with your method, list them
in the manifest in `src/geoatlas_{name}/__init__.py`, and check them with `geoatlas.testing`.
'''


def new_plugin(name: str, directory: Path) -> Path:
    """Write the plugin package ``geoatlas-<name>`` under ``directory``; returns its path."""
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        raise ValueError(f"plugin name {name!r} must be snake_case (lowercase letters, digits, _)")
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
