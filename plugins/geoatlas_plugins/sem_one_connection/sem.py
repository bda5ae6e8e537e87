"""Linear structural equation models on mixed graphs (cycles allowed): closed-form covariance.

A mixed graph ``G = (V, D, B)`` on ``V = {0, ..., p-1}`` has directed edges ``D`` (``i -> j``,
cycles allowed, no self-loops) and bidirected edges ``B`` (``i <-> j``). The linear SEM is
``X = Lambda^T X + eps`` with ``Lambda_ij != 0`` only for ``i -> j`` in ``D`` and
``cov(eps) = Omega`` positive definite, ``Omega_ij != 0`` only on the diagonal and for
``i <-> j`` in ``B``. When ``I - Lambda`` is invertible,

    Sigma = (I - Lambda)^{-T} Omega (I - Lambda)^{-1}.

Closed form (one-connection rule). Let a *one-connection* from ``k`` to ``i`` be a simple directed
path ``k -> ... -> i`` of ``D`` (the trivial path when ``k = i``) together with a set of pairwise
vertex-disjoint directed cycles of ``D`` that avoid the path; its weight is the product of the
edge weights times ``(-1)^{#cycles}``. With ``c_{ki}`` the sum of the weights of all
one-connections from ``k`` to ``i`` and ``det(I - Lambda)`` the signed sum over all sets of
disjoint cycles (the one-connections of the empty path),

    [(I - Lambda)^{-1}]_{ki} = c_{ki} / det(I - Lambda),
    Sigma_ij = sum_{k, l} c_{ki} Omega_kl c_{lj} / det(I - Lambda)^2,

a finite sum: in the acyclic case ``det = 1`` and it reduces to the trek rule.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from geoatlas.interfaces import DataBundle, Dataset, Measure

__all__ = [
    "SEMGraphCheck",
    "MixedGraph",
    "LinearSEMSets",
    "FiniteToOneReport",
    "generic_finite_to_one",
    "one_connection_covariance",
    "one_connection_matrix",
    "random_parameters",
    "sem_covariance",
    "sem_covariance_torch",
]

MAX_NODES = 9


@dataclass(frozen=True)
class MixedGraph:
    """A mixed graph on nodes ``0..p-1`` with directed and bidirected edges."""

    p: int
    directed: tuple[tuple[int, int], ...] = ()
    bidirected: tuple[tuple[int, int], ...] = ()
    _cycles: list = field(default_factory=list, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.p, (int, np.integer)) or self.p < 1:
            raise ValueError(f"p must be a positive integer, got {self.p!r}")
        d = tuple((int(i), int(j)) for i, j in self.directed)
        b = tuple(sorted({tuple(sorted((int(i), int(j)))) for i, j in self.bidirected}))
        for name, edges in (("directed", d), ("bidirected", b)):
            for i, j in edges:
                if not (0 <= i < self.p and 0 <= j < self.p):
                    raise ValueError(f"{name} edge ({i}, {j}) has a node outside 0..{self.p - 1}")
                if i == j:
                    raise ValueError(f"{name} edge ({i}, {j}) is a self-loop: not allowed")
        if len(set(d)) != len(d):
            raise ValueError("directed contains repeated edges")
        object.__setattr__(self, "directed", d)
        object.__setattr__(self, "bidirected", b)

    @property
    def is_simple(self) -> bool:
        """At most one edge between any pair of vertices (no ``i -> j`` with ``j -> i`` or ``i <-> j``)."""
        pairs = [tuple(sorted(e)) for e in self.directed] + list(self.bidirected)
        return len(pairs) == len(set(pairs))

    @property
    def is_acyclic(self) -> bool:
        return nx.is_directed_acyclic_graph(self.digraph())

    @property
    def n_parameters(self) -> int:
        """``|V| + |D| + |B|`` (variances, edge coefficients, error covariances)."""
        return self.p + len(self.directed) + len(self.bidirected)

    def digraph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(range(self.p))
        g.add_edges_from(self.directed)
        return g

    def cycles(self) -> list[tuple[int, ...]]:
        """Simple directed cycles of ``D`` (node tuples, each once)."""
        if not self._cycles:
            self._cycles.append([tuple(c) for c in nx.simple_cycles(self.digraph())])
        return self._cycles[0]

    @staticmethod
    def _as_matrix(M: Any, name: str, p: int) -> np.ndarray:
        try:
            A = np.asarray(M, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name} must be a real ({p}, {p}) matrix: {e}") from None
        if A.shape != (p, p):
            raise ValueError(f"{name} must have shape ({p}, {p}), got {A.shape}")
        if not np.isfinite(A).all():
            raise ValueError(f"{name} contains NaN or Inf values")
        return A

    def check_lambda(self, Lambda: Any) -> np.ndarray:
        """Validate ``Lambda`` against the graph (shape, finite, zero off ``D`` and on the diagonal,
        ``I - Lambda`` invertible); returns a float64 array."""
        L = self._as_matrix(Lambda, "Lambda", self.p)
        mask_d = np.zeros((self.p, self.p), bool)
        for i, j in self.directed:
            mask_d[i, j] = True
        if np.any(L[~mask_d] != 0):
            i, j = np.argwhere((L != 0) & ~mask_d)[0]
            what = "a diagonal entry (self-loops are not allowed)" if i == j else f"{i} -> {j} is not a directed edge of the graph"
            raise ValueError(f"Lambda[{i}, {j}] is non-zero but {what}")
        if abs(np.linalg.det(np.eye(self.p) - L)) < 1e-12:
            raise ValueError("I - Lambda is singular: the SEM has no (unique) solution for these coefficients")
        return L

    def check_parameters(self, Lambda: Any, Omega: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validate ``(Lambda, Omega)`` against the graph; returns float64 arrays."""
        L = self.check_lambda(Lambda)
        W = self._as_matrix(Omega, "Omega", self.p)
        if np.abs(W - W.T).max() > 1e-12 * max(1.0, np.abs(W).max()):
            raise ValueError("Omega must be symmetric")
        mask_b = np.eye(self.p, dtype=bool)
        for i, j in self.bidirected:
            mask_b[i, j] = mask_b[j, i] = True
        if np.any(W[~mask_b] != 0):
            i, j = np.argwhere((W != 0) & ~mask_b)[0]
            raise ValueError(f"Omega[{i}, {j}] is non-zero but {i} <-> {j} is not a bidirected edge of the graph")
        if np.linalg.eigvalsh(W).min() <= 0:
            raise ValueError("Omega must be positive definite")
        return L, W


def sem_covariance(Lambda: Any, Omega: Any, graph: MixedGraph | None = None) -> np.ndarray:
    """``Sigma = (I - Lambda)^{-T} Omega (I - Lambda)^{-1}`` by linear solves (the direct route)."""
    if graph is not None:
        L, W = graph.check_parameters(Lambda, Omega)
    else:
        L, W = np.asarray(Lambda, dtype=np.float64), np.asarray(Omega, dtype=np.float64)
        if L.ndim != 2 or L.shape[0] != L.shape[1] or W.shape != L.shape:
            raise ValueError(f"Lambda and Omega must be square matrices of the same shape, got {L.shape} and {W.shape}")
    A = np.eye(L.shape[0]) - L
    Ainv = np.linalg.solve(A, np.eye(L.shape[0]))
    S = Ainv.T @ W @ Ainv
    return (S + S.T) / 2


def sem_covariance_torch(Lambda: Any, Omega: Any) -> Any:
    """Differentiable torch version of :func:`sem_covariance` (batched over leading axes)."""
    import torch

    eye = torch.eye(Lambda.shape[-1], dtype=Lambda.dtype, device=Lambda.device)
    Ainv = torch.linalg.solve(eye - Lambda, eye.expand_as(Lambda))
    return Ainv.transpose(-1, -2) @ Omega @ Ainv


def _disjoint_cycle_sum(cycles: list[tuple[tuple[int, ...], float]], allowed: frozenset[int]) -> float:
    """Signed sum over sets of pairwise disjoint cycles inside ``allowed``: ``det(I - Lambda)[allowed]``."""
    usable = [(set(c), w) for c, w in cycles if allowed.issuperset(c)]

    def rec(start: int, used: set[int]) -> float:
        total = 0.0
        for k in range(start, len(usable)):
            cset, w = usable[k]
            if used.isdisjoint(cset):
                total += -w * rec(k + 1, used | cset)
        return 1.0 + total

    return rec(0, set())


def one_connection_matrix(graph: MixedGraph, Lambda: Any) -> tuple[np.ndarray, float]:
    """``(c, det)`` with ``c_{ki}`` the one-connection sums and ``det = det(I - Lambda)``.

    ``(I - Lambda)^{-1} = c / det``. Exponential in the graph size (it enumerates paths and
    cycles); limited to ``p <= 9`` nodes. ``Lambda`` is validated against the graph
    (:meth:`MixedGraph.check_lambda`): an entry off the graph's directed edges (the diagonal
    included) would be ignored by the enumeration, so it is refused instead.
    """
    if not isinstance(graph, MixedGraph):
        raise TypeError(f"graph must be a MixedGraph, got {type(graph).__name__}")
    if graph.p > MAX_NODES:
        raise ValueError(f"the one-connection enumeration is limited to p <= {MAX_NODES} nodes, got {graph.p}")
    L = graph.check_lambda(Lambda)
    V = frozenset(range(graph.p))
    cycles = []
    for c in graph.cycles():
        w = 1.0
        for a, b in zip(c, c[1:] + c[:1], strict=True):
            w *= L[a, b]
        cycles.append((c, w))
    det = _disjoint_cycle_sum(cycles, V)
    g = graph.digraph()
    C = np.zeros((graph.p, graph.p))
    for k in range(graph.p):
        C[k, k] = _disjoint_cycle_sum(cycles, V - {k})
        for i in range(graph.p):
            if i == k:
                continue
            for path in nx.all_simple_paths(g, k, i):
                w = 1.0
                for a, b in zip(path[:-1], path[1:], strict=True):
                    w *= L[a, b]
                C[k, i] += w * _disjoint_cycle_sum(cycles, V - set(path))
    return C, det


def one_connection_covariance(graph: MixedGraph, Lambda: Any, Omega: Any) -> np.ndarray:
    """``Sigma`` by the closed-form one-connection rule (see module docstring)."""
    if not isinstance(graph, MixedGraph):
        raise TypeError(f"graph must be a MixedGraph, got {type(graph).__name__}")
    L, W = graph.check_parameters(Lambda, Omega)
    C, det = one_connection_matrix(graph, L)
    S = C.T @ W @ C / det**2
    return (S + S.T) / 2


def random_parameters(
    graph: MixedGraph, rng: np.random.Generator, *, scale: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """Random ``(Lambda, Omega)`` supported on the graph, with ``I - Lambda`` invertible and ``Omega`` PD.

    Edge coefficients are uniform in ``+-[0.1, scale]``; ``Omega`` has unit-ish diagonal and
    bidirected entries in ``+-[0.1, 0.5]``, made diagonally dominant.
    """
    p = graph.p
    for _ in range(100):
        L = np.zeros((p, p))
        for i, j in graph.directed:
            L[i, j] = rng.uniform(0.1, scale) * rng.choice([-1, 1])
        if abs(np.linalg.det(np.eye(p) - L)) > 1e-3:
            break
    W = np.zeros((p, p))
    for i, j in graph.bidirected:
        W[i, j] = W[j, i] = rng.uniform(0.1, 0.5) * rng.choice([-1, 1])
    W[np.diag_indices(p)] = np.abs(W).sum(1) + rng.uniform(0.5, 1.5, size=p)
    return L, W


@dataclass
class FiniteToOneReport:
    """Result of the generic finite-to-one check."""

    finite_to_one: bool
    n_parameters: int
    rank: int
    covariance_dim: int
    singular_values: list[float]
    is_simple: bool


def generic_finite_to_one(graph: MixedGraph, *, n_trials: int = 3, seed: int = 0, rtol: float = 1e-8) -> FiniteToOneReport:
    """Is the parametrisation ``(Lambda, Omega) -> Sigma`` generically finite-to-one?

    The map is rational, so its generic fibre dimension is ``n_parameters - generic rank`` of its
    Jacobian. The Jacobian of ``(lambda_D, omega_V, omega_B) -> vech(Sigma)`` is computed with
    ``torch.autograd`` (float64) at ``n_trials`` random parameter points; the generic rank is the
    largest rank found (rank drops only on a measure-zero set). Full column rank <=> generically
    finite-to-one. The paper proves it for every simple graph.
    """
    import torch

    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    p = graph.p
    D = list(graph.directed)
    B = list(graph.bidirected)
    iu = torch.triu_indices(p, p)

    def param_map(theta: torch.Tensor) -> torch.Tensor:
        L = torch.zeros(p, p, dtype=theta.dtype)
        W = torch.zeros(p, p, dtype=theta.dtype)
        k = 0
        for i, j in D:
            L = L.index_put((torch.tensor(i), torch.tensor(j)), theta[k])
            k += 1
        for v in range(p):
            W = W.index_put((torch.tensor(v), torch.tensor(v)), theta[k])
            k += 1
        for i, j in B:
            W = W.index_put((torch.tensor(i), torch.tensor(j)), theta[k])
            W = W.index_put((torch.tensor(j), torch.tensor(i)), theta[k])
            k += 1
        S = sem_covariance_torch(L, W)
        return S[iu[0], iu[1]]

    rng = np.random.default_rng(seed)
    best_rank, best_sv = -1, np.array([])
    for _ in range(n_trials):
        L, W = random_parameters(graph, rng)
        theta = [L[i, j] for i, j in D] + [W[v, v] for v in range(p)] + [W[i, j] for i, j in B]
        th = torch.tensor(theta, dtype=torch.float64)
        J = torch.autograd.functional.jacobian(param_map, th).numpy()
        sv = np.linalg.svd(J, compute_uv=False)
        rank = int((sv > rtol * sv.max()).sum()) if sv.size else 0
        if rank > best_rank:
            best_rank, best_sv = rank, sv
    n_par = graph.n_parameters
    return FiniteToOneReport(
        finite_to_one=best_rank == n_par,
        n_parameters=n_par,
        rank=best_rank,
        covariance_dim=p * (p + 1) // 2,
        singular_values=[float(s) for s in best_sv],
        is_simple=graph.is_simple,
    )


class LinearSEMSets(Dataset):
    """Sets of Gaussian observations from linear SEMs on random cyclic mixed graphs (class = graph).

    For class ``k`` a random simple mixed graph on ``p`` nodes (with at least one directed cycle)
    and parameters are drawn once; its covariance is computed with the one-connection rule; each
    sample is ``n_observations`` draws from ``N(0, Sigma_k)``, shape ``(n_observations, p)``.
    """

    data_type: ClassVar[str] = "sequence"
    task: ClassVar[str] = "classification"

    def __init__(self, n_per_class: int = 40, n_classes: int = 3, p: int = 5, n_observations: int = 60, seed: int = 0) -> None:
        for k, v in dict(n_per_class=n_per_class, n_classes=n_classes, n_observations=n_observations).items():
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{k} must be a positive integer, got {v!r}")
        if not isinstance(p, int) or not (3 <= p <= MAX_NODES):
            raise ValueError(f"p must be an integer in [3, {MAX_NODES}], got {p!r}")
        self.n_per_class = n_per_class
        self.n_classes = n_classes
        self.p = p
        self.n_observations = n_observations
        self.seed = seed

    def graphs(self) -> list[tuple[MixedGraph, np.ndarray]]:
        """The class graphs and their covariances (one-connection rule)."""
        return [(g, S) for g, _, _, S in self.graph_parameters()]

    def graph_parameters(self) -> list[tuple[MixedGraph, np.ndarray, np.ndarray, np.ndarray]]:
        """The class graphs with their parameters and covariances: ``(graph, Lambda, Omega, Sigma)``."""
        rng = np.random.default_rng(self.seed)
        out = []
        pairs = list(itertools.combinations(range(self.p), 2))
        while len(out) < self.n_classes:
            order = rng.permutation(len(pairs))
            chosen = [pairs[t] for t in order[: self.p + 1]]
            directed, bidirected = [], []
            for a, b in chosen:
                r = rng.random()
                if r < 0.75:
                    directed.append((a, b) if rng.random() < 0.5 else (b, a))
                else:
                    bidirected.append((a, b))
            g = MixedGraph(self.p, tuple(directed), tuple(bidirected))
            if g.is_acyclic:
                continue
            L, W = random_parameters(g, rng)
            out.append((g, L, W, one_connection_covariance(g, L, W)))
        return out

    def load(self) -> DataBundle:
        gs = self.graphs()
        rng = np.random.default_rng(self.seed + 1)
        X, y = [], []
        for k, (_, S) in enumerate(gs):
            Lc = np.linalg.cholesky(S)
            for _ in range(self.n_per_class):
                X.append(rng.normal(size=(self.n_observations, self.p)) @ Lc.T)
                y.append(k)
        perm = rng.permutation(len(y))
        return DataBundle(
            X=np.stack(X)[perm],
            y=np.asarray(y)[perm],
            data_type="sequence",
            task="classification",
            meta={"graphs": [(g.directed, g.bidirected) for g, _ in gs]},
        )


class SEMGraphCheck(Measure):
    """Check a ``linear_sem_sets`` dataset against the SEMs of its class graphs (a pipeline measure).

    The measure regenerates the dataset's class graphs and parameters from the same
    ``n_classes, p, seed`` (pass the dataset's values) and reports, without any model:

    - ``finite_to_one_fraction``: the fraction of class graphs whose parametrisation is
      generically finite-to-one (:func:`generic_finite_to_one`; the paper's theorem says 1 for
      simple graphs), and ``simple_fraction``;
    - ``closed_form_max_rel_error``: the largest relative difference between the one-connection
      covariance and ``(I - Lambda)^{-T} Omega (I - Lambda)^{-1}`` over the class graphs;
    - ``cov_rel_error``: the mean over classes of ``|S_k - Sigma_k|_F / |Sigma_k|_F``, with
      ``S_k`` the pooled (zero-mean) sample covariance of the class's sets in ``data["X"]``;
    - ``cov_error_ratio`` (mean) and ``cov_error_ratio_max``: that error divided by its expected
      size under the model, ``sqrt((tr(Sigma)^2 + |Sigma|_F^2) / N)`` for ``N`` Gaussian draws
      (about 1 when the data come from the graph's covariance, much larger when they do not);
    - ``oracle_accuracy``: the accuracy of assigning each set to the class whose covariance gives
      it the largest Gaussian log-likelihood (the Bayes rule with equal priors), a ceiling to
      compare a trained model with.

    ``data["X"]`` must be ``(n_sets, n_observations, p)`` raw observations (no feature steps) and
    ``data["y"]`` the class (graph) indices ``0..n_classes-1``.
    """

    needs_model: ClassVar[bool] = False

    def __init__(self, n_classes: int = 3, p: int = 5, seed: int = 0, n_trials: int = 3, rtol: float = 1e-8) -> None:
        # validates n_classes, p (and seed through numpy) exactly as the dataset does
        self._dataset = LinearSEMSets(n_per_class=1, n_classes=n_classes, p=p, n_observations=1, seed=seed)
        if not (isinstance(n_trials, int) and not isinstance(n_trials, bool) and n_trials >= 1):
            raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
        if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
            raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
        self.n_classes, self.p, self.seed, self.n_trials, self.rtol = n_classes, p, seed, n_trials, float(rtol)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict) or "X" not in data or data.get("y") is None:
            raise ValueError("data must be a dict with the observation sets under 'X' and their class (graph) indices under 'y'")
        try:
            X = np.asarray(data["X"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("data['X'] must be a numeric array of shape (n_sets, n_observations, p)") from exc
        if X.ndim != 3 or X.shape[2] != self.p or X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(
                f"data['X'] must have shape (n_sets, n_observations, p={self.p}) (raw linear_sem_sets observations, "
                f"no feature steps; p must match the dataset's), got {X.shape}"
            )
        if not np.isfinite(X).all():
            raise ValueError("data['X'] contains NaN or Inf values")
        y = np.asarray(data["y"])
        if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= self.n_classes:
            raise ValueError(f"data['y'] must hold {X.shape[0]} integer class indices in [0, {self.n_classes - 1}], got shape {y.shape}, dtype {y.dtype}")
        params = self._dataset.graph_parameters()
        f2o, simple, closed, rel, ratio = [], [], [], [], []
        loglik = np.empty((X.shape[0], len(params)))
        scatter = np.einsum("sti,stj->sij", X, X)  # X_s^T X_s per set
        n_obs = X.shape[1]
        for k, (g, L, W, S) in enumerate(params):
            rep = generic_finite_to_one(g, n_trials=self.n_trials, seed=self.seed, rtol=self.rtol)
            f2o.append(rep.finite_to_one)
            simple.append(g.is_simple)
            direct = sem_covariance(L, W)
            closed.append(float(np.abs(S - direct).max() / np.abs(direct).max()))
            _, logdet = np.linalg.slogdet(S)
            Sinv = np.linalg.inv(S)
            loglik[:, k] = -0.5 * (n_obs * logdet + np.einsum("ij,sji->s", Sinv, scatter))
            mask = y == k
            if mask.any():
                N = int(mask.sum()) * n_obs
                Shat = scatter[mask].sum(0) / N
                err = float(np.linalg.norm(Shat - S))
                rel.append(err / float(np.linalg.norm(S)))
                ratio.append(err / float(np.sqrt((np.trace(S) ** 2 + np.sum(S * S)) / N)))
        return {
            "finite_to_one_fraction": float(np.mean(f2o)),
            "simple_fraction": float(np.mean(simple)),
            "closed_form_max_rel_error": float(max(closed)),
            "cov_rel_error": float(np.mean(rel)),
            "cov_error_ratio": float(np.mean(ratio)),
            "cov_error_ratio_max": float(max(ratio)),
            "oracle_accuracy": float(np.mean(loglik.argmax(1) == y)),
            "n_sets": float(X.shape[0]),
        }
