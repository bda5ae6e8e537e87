"""The ``graphlet_orbits`` and ``orbit_adjacency`` descriptors (see :mod:`.orbits`)."""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Descriptor
from geoatlas.utils import with_node_features

from .orbits import N_ORBITS, orbit_adjacencies, orbit_counts

OUTPUTS = ("features", "graph_nodes")


def _check_size(value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(f"max_graphlet_size must be an integer in [{low}, {high}], got {value!r}")


#: matrices up to this many rows/columns get an exact dense SVD (deterministic); larger ones a seeded randomized SVD
_DENSE_SVD_MAX = 4000


class GraphletOrbits(Descriptor):
    """Per-node graphlet orbit counts (graphlet degree vectors) of one graph.

    ``transform(X)`` takes a torch-geometric ``Data``, a networkx graph (nodes in sorted order)
    or an adjacency matrix and returns an ``(n_nodes, n_orbits)`` array: column ``o`` counts the
    induced graphlets the node touches at orbit ``o`` of the standard numbering (0 = degree,
    3 = triangles through the node, ..., 72 = K5s). ``n_orbits`` is 1, 4, 15 or 73 for
    ``max_graphlet_size`` 2, 3, 4, 5. With ``output="graph_nodes"`` (a ``Data`` input) the graph
    comes back with the counts as node features ``x``.

    Parameters
    ----------
    max_graphlet_size : int
        Largest graphlet (2-5; default 5, the 73 orbits).
    log1p : bool
        Return ``log(1 + count)`` instead of raw counts (counts span orders of magnitude).
    output : str
        ``"features"`` or ``"graph_nodes"``.
    """

    input_type: ClassVar[str] = "graph_nodes"
    per_sample: ClassVar[bool] = False

    def __init__(self, max_graphlet_size: int = 5, log1p: bool = False, output: str = "features") -> None:
        self.max_graphlet_size = max_graphlet_size
        self.log1p = log1p
        self.output = output
        self._validate()

    def _validate(self) -> None:
        _check_size(self.max_graphlet_size, 2, 5)
        if not isinstance(self.log1p, bool):
            raise TypeError(f"log1p must be a bool, got {type(self.log1p).__name__}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")

    @property
    def output_type(self) -> str:
        return "graph_nodes" if self.output == "graph_nodes" else "features"

    @property
    def n_orbits(self) -> int:
        return N_ORBITS[int(self.max_graphlet_size)]

    def fit(self, X: Any, y: Any = None) -> GraphletOrbits:
        self._validate()
        return self

    def transform(self, X: Any) -> Any:
        self._validate()
        C = orbit_counts(X, int(self.max_graphlet_size)).astype(np.float64)
        Z = np.log1p(C) if self.log1p else C
        return Z if self.output == "features" else with_node_features(X, Z)


class OrbitAdjacency(Descriptor):
    """Orbit-adjacency matrices of one graph (Windels et al.): ``A^{(h, o1, o2)}[u, v]`` counts
    the induced graphlets (2..``max_graphlet_size`` nodes) with ``u`` at orbit ``o1``, ``v`` at
    orbit ``o2``, ``h`` hops apart inside the graphlet.

    ``matrices(X)`` returns them as ``{(h, o1, o2): scipy.sparse (n, n)}`` (``o1 <= o2``).
    ``transform(X)`` gives node features from them: with ``n_components=None`` each node's rows of
    every matrix and of its transpose (for ``o1 != o2``), side by side -- ``(n_nodes, n_nodes *
    n_blocks)``, the matrices themselves; with ``n_components=k`` each (row-normalised) block is
    reduced to ``k`` columns by a truncated SVD (a node embedding per orbit adjacency, then
    concatenated: the downstream use in the paper, reconstructed).

    Parameters
    ----------
    max_graphlet_size : int
        Largest graphlet (2-5; default 4, as GRADCO counts).
    n_components : int or None
        SVD components per block, or None for the raw rows.
    seed : int
        Seed of the randomized SVD (used only above 4000 nodes; smaller graphs get an exact, deterministic dense SVD).
    output : str
        ``"features"`` or ``"graph_nodes"``.
    """

    input_type: ClassVar[str] = "graph_nodes"
    per_sample: ClassVar[bool] = False

    def __init__(self, max_graphlet_size: int = 4, n_components: int | None = None, seed: int = 0, output: str = "features") -> None:
        self.max_graphlet_size = max_graphlet_size
        self.n_components = n_components
        self.seed = seed
        self.output = output
        self._validate()

    def _validate(self) -> None:
        _check_size(self.max_graphlet_size, 2, 5)
        k = self.n_components
        if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1):
            raise ValueError(f"n_components must be a positive integer or None, got {k!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")

    @property
    def output_type(self) -> str:
        return "graph_nodes" if self.output == "graph_nodes" else "features"

    def fit(self, X: Any, y: Any = None) -> OrbitAdjacency:
        self._validate()
        return self

    def matrices(self, X: Any) -> dict[tuple[int, int, int], Any]:
        """``{(hop, o1, o2): (n, n) scipy.sparse}``."""
        self._validate()
        return orbit_adjacencies(X, int(self.max_graphlet_size))

    def transform(self, X: Any) -> Any:
        mats = self.matrices(X)
        blocks = []
        for (_, o1, o2), A in mats.items():
            blocks.append(A)
            if o1 != o2:
                blocks.append(A.T.tocsr())
        if self.n_components is None:
            import scipy.sparse as sp

            Z = sp.hstack(blocks).toarray()
        else:
            import scipy.linalg
            from sklearn.decomposition import TruncatedSVD
            from sklearn.preprocessing import normalize
            from sklearn.utils.extmath import svd_flip

            parts = []
            for B in blocks:
                Bn = normalize(B, norm="l1", axis=1)
                k = min(int(self.n_components), min(Bn.shape) - 1)
                if k < 1:
                    parts.append(np.zeros((Bn.shape[0], int(self.n_components))))
                    continue
                if max(Bn.shape) <= _DENSE_SVD_MAX:
                    # a dense LAPACK SVD: the same output on every run. ARPACK (TruncatedSVD's
                    # "arpack") returned differently rotated bases from run to run when singular
                    # values repeat, as they do for orbit adjacencies of symmetric graphs
                    U, S, Vt = scipy.linalg.svd(Bn.toarray(), full_matrices=False, lapack_driver="gesvd")
                    U, Vt = svd_flip(U, Vt)
                    P = U[:, :k] * S[:k]
                else:
                    P = TruncatedSVD(k, random_state=int(self.seed), algorithm="randomized").fit_transform(Bn)
                parts.append(np.pad(P, ((0, 0), (0, int(self.n_components) - k))))
            Z = np.concatenate(parts, axis=1)
        return Z if self.output == "features" else with_node_features(X, Z)
