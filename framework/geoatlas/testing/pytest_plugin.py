"""pytest plugin shipped with geoatlas (entry point ``pytest11``).

Fixtures:
- ``geoatlas_strict``: turns on strict plugin loading for the test (any broken plugin raises).
- ``geoatlas_seed``: seeds python, numpy and torch with 0 and returns the seed.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def geoatlas_strict(monkeypatch: pytest.MonkeyPatch):
    from geoatlas import plugins

    monkeypatch.setenv("GEOATLAS_STRICT", "1")
    plugins.reset()
    yield plugins.catalog()
    plugins.reset()


@pytest.fixture
def geoatlas_seed() -> int:
    from geoatlas.utils import seed_everything

    seed_everything(0)
    return 0
