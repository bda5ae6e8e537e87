"""The plugin is built on multipers 2.3.2 with gudhi 3.11 (3.12 breaks degree-Rips, 3.13 crashes)."""

import numpy as np


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int("".join(c for c in part if c.isdigit()) or 0) for part in v.split(".")[:3])


def test_multipers_and_gudhi_pins() -> None:
    import gudhi
    import multipers

    assert multipers.__version__ == "2.3.2"
    assert _version_tuple(gudhi.__version__)[:2] == (3, 11)


def test_simple_multipers_call_works() -> None:
    import multipers as mp

    rng = np.random.default_rng(0)
    x = rng.normal(size=(15, 2))
    st = mp.filtrations.RipsLowerstar(points=x, function=np.linalg.norm(x, axis=1))
    st.expansion(2)
    (pts0, w0), (pts1, w1) = mp.signed_measure(st, degrees=[0, 1], invariant="hilbert")
    # H0 of the full complex is one component: the Hilbert measure has total mass 1
    assert pts0.shape[1] == 2 and int(np.sum(w0)) == 1
    assert pts1.shape[1] == 2
