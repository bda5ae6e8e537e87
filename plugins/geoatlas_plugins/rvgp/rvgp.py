"""RVGP: Gaussian-process regression of vector fields on a point cloud through the connection Laplacian.

Peach, Vinao-Carl, Grossman, ..., Vandergheynst, Gosztolai, "Implicit Gaussian process
representation of vector fields over arbitrary latent manifolds", ICLR 2024 (arXiv 2309.16746).
Re-implemented in numpy/torch from the paper and the authors' description (no code copied).

Geometry (numpy, float64): a kNN graph with self-loops; tangent frames ``T_i`` (D x m) by local
PCA over each node's nearest nodes in that graph (hop counts, the authors' geodesic neighbourhoods);
connections ``O_ij = U V^T`` from the SVD ``T_i^T T_j = U S V^T``; the connection Laplacian
``L_c = D (x) I_m - [A_ij O_ij]``; its ``k`` smallest eigenpairs ``(lambda_l, u_l)`` with
eigenvectors scaled by ``sqrt(n m)``; the positional encoding ``P_i = T_i U_i`` (D x k).
Kernel (torch): ``K((i,a),(j,b)) = sum_l S_l P_i[a,l] P_j[b,l]``, Matern spectral density
``S_l = (lambda_l + 2 nu / kappa^2)^(-nu)`` (or SE ``exp(-kappa^2 lambda_l / 2)``), rescaled to
``sum_l S_l = n D`` and multiplied by ``sigma_f``. GP regression of the vector components with
Gaussian noise; hyper-parameters by maximising the marginal likelihood.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch

from geoatlas.interfaces import DataBundle, Dataset, Encoder, check_finite_array
from geoatlas.validation import PositiveFloat, PositiveInt, Size

#: lower bounds of the positive hyper-parameters (the authors set gpflow's positive minimum to 1e-2)
KERNEL_MIN = 1e-2
NOISE_MIN = 1e-6


# ---------------------------------------------------------------------------- geometry
def knn_graph(X: np.ndarray, n_neighbors: int) -> sp.csr_matrix:
    """Unweighted symmetric kNN adjacency plus self-loops (``A + I``), as the authors build it."""
    from sklearn.neighbors import kneighbors_graph

    A = kneighbors_graph(X, n_neighbors, mode="connectivity", include_self=False)
    A = A.maximum(A.T)
    return sp.csr_matrix(A + sp.eye(A.shape[0]))


def geodesic_neighbourhoods(X: np.ndarray, A: sp.spmatrix, n_local: int) -> np.ndarray:
    """For every node, itself and its ``n_local`` nearest nodes in the graph ``A`` (the authors'
    geodesic neighbourhood: Dijkstra on their unweighted kNN graph, i.e. hop counts). Nodes at the
    same hop count are taken in order of Euclidean distance (reconstructed: the authors' Cython
    Dijkstra takes them in its Fibonacci heap's order). Returns ``(n, n_local + 1)`` indices."""
    from scipy.sparse.csgraph import shortest_path

    n = X.shape[0]
    hops = shortest_path(sp.csr_matrix(A), method="D", directed=False, unweighted=True)
    eu = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)
    idx = np.empty((n, n_local + 1), dtype=np.int64)
    for i in range(n):
        if np.isfinite(hops[i]).sum() < n_local + 1:
            raise ValueError(f"node {i}'s connected component has fewer than {n_local + 1} nodes: "
                             "raise n_neighbors or use frame_neighbourhood='euclidean'")
        idx[i] = np.lexsort((eu[i], hops[i]))[: n_local + 1]
    return idx


def tangent_frames(X: np.ndarray, n_local: int, A: sp.spmatrix | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local PCA: for each point its ``n_local`` nearest neighbours plus itself, centred; returns
    the orthonormal principal directions ``(n, D, D)`` (columns by decreasing variance) and the
    singular values ``(n, D)``. Neighbours in the graph ``A`` (:func:`geodesic_neighbourhoods`,
    the authors') when ``A`` is given, Euclidean nearest neighbours otherwise."""
    from sklearn.neighbors import NearestNeighbors

    n, D = X.shape
    if A is not None:
        idx = geodesic_neighbourhoods(X, A, min(n - 1, n_local))
    else:
        idx = NearestNeighbors(n_neighbors=min(n, n_local + 1)).fit(X).kneighbors(X, return_distance=False)
    nb = X[idx] - X[idx].mean(axis=1, keepdims=True)  # (n, K+1, D)
    _, s, Vt = np.linalg.svd(nb, full_matrices=False)
    frames = np.transpose(Vt, (0, 2, 1))  # (n, D, min(K+1, D))
    return frames, s


def manifold_dimension(sigma: np.ndarray, frac_explained: float = 0.8) -> int:
    """The authors' rule: the smallest ``m`` whose cumulative explained variance, averaged over
    points minus its standard deviation, reaches ``frac_explained``."""
    s2 = sigma**2
    cum = np.cumsum(s2 / s2.sum(1, keepdims=True), axis=1)
    var = cum.mean(0) - cum.std(0)
    hit = np.where(var >= frac_explained)[0]
    return int(hit[0] + 1) if len(hit) else int(sigma.shape[1])


def connections(frames: np.ndarray, A: sp.spmatrix) -> dict[tuple[int, int], np.ndarray]:
    """``O_ij = U V^T`` with ``T_i^T T_j = U S V^T`` for every edge (the orthogonal matrix that
    best aligns frame ``j`` to frame ``i``)."""
    A = sp.coo_matrix(A)
    TtT = np.einsum("eDp,eDq->epq", frames[A.row], frames[A.col])
    U, _, Vt = np.linalg.svd(TtT)
    rot = U @ Vt
    return {(int(i), int(j)): rot[e] for e, (i, j) in enumerate(zip(A.row, A.col, strict=True))}


def connection_laplacian(A: sp.spmatrix, conn: dict[tuple[int, int], np.ndarray] | np.ndarray) -> sp.csr_matrix:
    """``L_c = kron(L, 1_{m x m}) (elementwise) R`` with ``L = D - A`` the combinatorial Laplacian
    and ``R`` the block matrix of the connections: ``(L_c)_ii = deg_i I``, ``(L_c)_ij = -A_ij O_ij``.
    ``conn`` is a dict over the edges, or an ``(n, n, m, m)`` array."""
    A = sp.coo_matrix(A)
    n = A.shape[0]
    deg = np.asarray(sp.csr_matrix(A).sum(1)).ravel() - sp.csr_matrix(A).diagonal()  # self-loops cancel in D - A
    m = (next(iter(conn.values())) if isinstance(conn, dict) else conn[0, 0]).shape[0]
    off = A.row != A.col
    ri, rj, a = A.row[off], A.col[off], A.data[off]
    if len(ri):
        blocks = np.stack([conn[(int(i), int(j))] for i, j in zip(ri, rj, strict=True)]) if isinstance(conn, dict) else conn[ri, rj]
        blocks = -a[:, None, None] * blocks
        r = ri[:, None, None] * m + np.arange(m)[None, :, None]
        c = rj[:, None, None] * m + np.arange(m)[None, None, :]
        r, c = np.broadcast_to(r, blocks.shape), np.broadcast_to(c, blocks.shape)
        rows, cols, vals = [r.ravel()], [c.ravel()], [blocks.ravel()]
    else:
        rows, cols, vals = [], [], []
    diag = np.repeat(deg, m)
    rows.append(np.arange(n * m))
    cols.append(np.arange(n * m))
    vals.append(diag)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * m, n * m))


def spectrum(Lc: sp.spmatrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest eigenpairs of ``L_c`` (dense, float64); eigenvectors scaled by
    ``sqrt(n m)`` as the authors do."""
    from scipy.linalg import eigh
    from scipy.sparse.linalg import eigsh

    N = Lc.shape[0]
    k = min(k, N)
    if sp.issparse(Lc) and N > 300 and k < N // 3:
        # shift-invert just below 0 (L_c is PSD): the k smallest eigenpairs
        shift = -1e-6 * max(1.0, float(abs(Lc).sum(1).max()))
        w, V = eigsh(sp.csc_matrix(Lc), k=k, sigma=shift, which="LM", v0=np.ones(N) / np.sqrt(N))
        order = np.argsort(w)
        w, V = w[order], V[:, order]
    else:
        M = Lc.toarray() if sp.issparse(Lc) else np.asarray(Lc)
        w, V = eigh(0.5 * (M + M.T), subset_by_index=[0, k - 1])
    return w, V * np.sqrt(N)


# ---------------------------------------------------------------------------- the geometry bundle
class VectorBundleGeometry:
    """Everything RVGP derives from a point cloud: graph, frames, connections, ``L_c``, spectrum
    and the positional encoding ``P`` of shape ``(n, D, k)``."""

    def __init__(self, X: np.ndarray, n_neighbors: int = 10, manifold_dim: int | None = None, n_eigenpairs: int = 50,
                 frac_geodesic_neighbours: float = 1.5, explained_variance: float = 0.8,
                 frame_neighbourhood: str = "graph") -> None:
        X = np.asarray(X, dtype=np.float64)
        n, D = X.shape
        self.A = knn_graph(X, n_neighbors)
        n_local = int(n_neighbors * frac_geodesic_neighbours)
        if frame_neighbourhood not in ("graph", "euclidean"):
            raise ValueError(f"frame_neighbourhood must be 'graph' or 'euclidean', got {frame_neighbourhood!r}")
        frames, sig = tangent_frames(X, min(n_local, n - 1), self.A if frame_neighbourhood == "graph" else None)
        m = manifold_dimension(sig, explained_variance) if manifold_dim is None else int(manifold_dim)
        if m > frames.shape[2]:
            raise ValueError(f"manifold_dim={m} exceeds the ambient dimension / neighbourhood size ({frames.shape[2]})")
        self.frames = frames[:, :, :m]
        self.m, self.n, self.D = m, n, D
        self.conn = connections(self.frames, self.A)
        self.Lc = connection_laplacian(self.A, self.conn)
        self.evals, evecs = spectrum(self.Lc, n_eigenpairs)
        U = evecs.reshape(n, m, -1)
        self.P = np.einsum("nDm,nmk->nDk", self.frames, U)  # (n, D, k)


# ---------------------------------------------------------------------------- the encoder
class RVGP(Encoder):
    """RVGP vector-field GP on one point cloud (``graph_nodes`` data).

    Input: one torch-geometric ``Data`` (or any object) with ``pos`` or ``x`` of shape ``(n, D)``
    (the points), ``y`` of shape ``(n, D)`` (ambient vectors; only the training nodes' are read)
    and ``train_mask``. ``forward(data)`` returns the GP posterior mean of the vector field at every
    node, ``(n, D)``, conditioned on the training nodes; ``posterior(data)`` returns mean and
    per-component variance. ``training_step`` returns the negative log marginal likelihood per
    training row, so a pipeline's optimiser fits ``nu``, ``kappa``, ``sigma_f`` and the noise.

    Parameters
    ----------
    n_neighbors : int
        kNN of the graph (the authors' default 10); frames use ``1.5 * n_neighbors`` neighbours.
    manifold_dim : int or None
        ``m``; ``None`` estimates it by the authors' explained-variance rule (0.8).
    n_eigenpairs : int
        ``k`` smallest eigenpairs of ``L_c`` kept (default 50).
    kernel : {"matern", "se"}
    nu, kappa, sigma_f : float
        Initial kernel hyper-parameters (the authors' training defaults ``nu = 3/2``, ``kappa = 5``,
        ``sigma_f = 1``); trainable, kept positive through a log parametrisation.
    noise_variance : float
        Initial Gaussian noise variance (authors: 0.001), trainable.
    frame_neighbourhood : {"graph", "euclidean"}
        Local-PCA neighbourhoods of the frames: the ``1.5 * n_neighbors`` nearest nodes in the kNN
        graph by hop count (the authors' geodesic neighbourhoods; ties by Euclidean distance), or
        the Euclidean nearest neighbours.
    """

    input_type: ClassVar[str] = "graph_nodes"
    output_space: ClassVar[str] = "euclidean"

    def __init__(self, n_neighbors: PositiveInt = 10, manifold_dim: PositiveInt | None = None, n_eigenpairs: Size = 50,
                 kernel: Literal["matern", "se"] = "matern", nu: PositiveFloat = 1.5, kappa: PositiveFloat = 5.0,
                 sigma_f: PositiveFloat = 1.0, noise_variance: PositiveFloat = 1e-3,
                 frame_neighbourhood: Literal["graph", "euclidean"] = "graph") -> None:
        super().__init__()
        if kernel not in ("matern", "se"):
            raise ValueError(f"kernel must be 'matern' or 'se', got {kernel!r}")
        if frame_neighbourhood not in ("graph", "euclidean"):
            raise ValueError(f"frame_neighbourhood must be 'graph' or 'euclidean', got {frame_neighbourhood!r}")
        self.frame_neighbourhood = frame_neighbourhood
        self.n_neighbors, self.manifold_dim, self.n_eigenpairs, self.kernel = n_neighbors, manifold_dim, n_eigenpairs, kernel
        dt = torch.float64
        # positive parameters: value = lower bound + exp(raw), as gpflow's positive() transform with
        # the authors' minimum 1e-2 for the kernel (1e-6 for the noise variance, gpflow's default)
        for name, value, low in (("nu", nu, KERNEL_MIN), ("kappa", kappa, KERNEL_MIN), ("sigma_f", sigma_f, KERNEL_MIN),
                                 ("noise", noise_variance, NOISE_MIN)):
            if value <= low:
                raise ValueError(f"{'noise_variance' if name == 'noise' else name} must be > {low}, got {value}")
            self.register_parameter(f"raw_{name}", torch.nn.Parameter(torch.tensor(math.log(value - low), dtype=dt)))
        self._geo: VectorBundleGeometry | None = None
        self._geo_key: bytes | None = None
        self._y_fit: torch.Tensor | None = None

    @property
    def nu(self) -> torch.Tensor:
        return KERNEL_MIN + self.raw_nu.exp()

    @property
    def kappa(self) -> torch.Tensor:
        return KERNEL_MIN + self.raw_kappa.exp()

    @property
    def sigma_f(self) -> torch.Tensor:
        return KERNEL_MIN + self.raw_sigma_f.exp()

    @property
    def noise_variance(self) -> torch.Tensor:
        return NOISE_MIN + self.raw_noise.exp()

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _points(data: Any) -> np.ndarray:
        X = getattr(data, "pos", None)
        if X is None:
            X = getattr(data, "x", None)
        if X is None:
            raise TypeError("data must carry the points as `pos` or `x`, shape (n_nodes, D)")
        X = np.asarray(X.detach().cpu() if isinstance(X, torch.Tensor) else X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 3 or X.shape[1] < 2:
            raise ValueError(f"data.pos/x must have shape (n_nodes >= 3, D >= 2), got {X.shape}")
        check_finite_array(X, "data.pos")
        return X

    def geometry(self, data: Any) -> VectorBundleGeometry:
        """The (cached) geometry of the point cloud in ``data``."""
        X = self._points(data)
        if self.n_neighbors >= len(X):
            raise ValueError(f"n_neighbors must be smaller than the number of nodes ({len(X)}), got {self.n_neighbors}")
        key = X.tobytes()
        if self._geo is None or self._geo_key != key:
            self._geo = VectorBundleGeometry(X, self.n_neighbors, self.manifold_dim, self.n_eigenpairs,
                                             frame_neighbourhood=self.frame_neighbourhood)
            self._geo_key = key
        return self._geo

    @staticmethod
    def _mask(data: Any, n: int) -> torch.Tensor:
        m = getattr(data, "train_mask", None)
        if m is None:
            raise ValueError("data.train_mask is required (which nodes' vectors are observed)")
        m = torch.as_tensor(m).bool()
        if m.shape != (n,):
            raise ValueError(f"data.train_mask must have shape ({n},), got {tuple(m.shape)}")
        if not bool(m.any()):
            raise ValueError("data.train_mask selects no node")
        return m

    def _targets(self, data: Any, n: int, D: int) -> torch.Tensor:
        y = getattr(data, "y", None)
        if y is None:
            raise ValueError("data.y (the vectors, shape (n_nodes, D)) is required")
        y = torch.as_tensor(np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y), dtype=torch.float64)
        if y.shape != (n, D):
            raise ValueError(f"data.y must have shape ({n}, {D}), got {tuple(y.shape)}")
        if not torch.isfinite(y).all():
            raise ValueError("data.y contains NaN or Inf values")
        return y

    # ------------------------------------------------------------------ kernel
    def spectral_density(self, evals: torch.Tensor, n_rows: int) -> torch.Tensor:
        """``S_l`` rescaled to sum to ``n_rows`` (= n D) and multiplied by ``sigma_f``."""
        nu, kappa, sf = self.nu, self.kappa, self.sigma_f
        lam = evals.clamp_min(0)
        if self.kernel == "matern":
            logS = -nu * torch.log(lam + 2 * nu / kappa**2)
        else:
            logS = -0.5 * lam * kappa**2
        return torch.softmax(logS, 0) * n_rows * sf  # S / sum(S) computed in log space (no underflow)

    def _features(self, geo: VectorBundleGeometry) -> tuple[torch.Tensor, torch.Tensor]:
        P = torch.as_tensor(geo.P, dtype=torch.float64)  # (n, D, k)
        S = self.spectral_density(torch.as_tensor(geo.evals, dtype=torch.float64), geo.n * geo.D)
        return P, S

    def kernel_matrix(self, data: Any, rows_a: torch.Tensor | None = None, rows_b: torch.Tensor | None = None) -> torch.Tensor:
        """``K`` between the (node, coordinate) rows of the selected nodes (all by default)."""
        geo = self.geometry(data)
        P, S = self._features(geo)
        Pa = (P if rows_a is None else P[rows_a]).reshape(-1, P.shape[-1])
        Pb = (P if rows_b is None else P[rows_b]).reshape(-1, P.shape[-1])
        return (Pa * S) @ Pb.T

    # ------------------------------------------------------------------ GP
    def _prepare(self, data: Any, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        geo = self.geometry(data)
        mask = self._mask(data, geo.n)
        yy = y if y is not None else (self._y_fit if self._y_fit is not None and self._y_fit.shape == (geo.n, geo.D)
                                      else self._targets(data, geo.n, geo.D))
        P, S = self._features(geo)
        Ptr = P[mask].reshape(-1, P.shape[-1])
        return P, S, Ptr, yy[mask].reshape(-1).to(torch.float64)

    def neg_log_marginal_likelihood(self, data: Any, y: torch.Tensor | None = None) -> torch.Tensor:
        """``1/2 y^T (K + s^2 I)^{-1} y + 1/2 log|K + s^2 I| + N/2 log 2 pi``, divided by ``N`` rows."""
        _, S, Ptr, yt = self._prepare(data, y)
        N = len(yt)
        Kxx = (Ptr * S) @ Ptr.T + self.noise_variance * torch.eye(N, dtype=torch.float64)
        Lch = torch.linalg.cholesky(Kxx)
        alpha = torch.cholesky_solve(yt[:, None], Lch)
        nll = 0.5 * (yt[:, None] * alpha).sum() + torch.log(torch.diagonal(Lch)).sum() + 0.5 * N * math.log(2 * math.pi)
        return nll / N

    def posterior(self, data: Any, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean ``(n, D)`` and marginal variance ``(n, D)`` of the latent field at every node."""
        P, S, Ptr, yt = self._prepare(data, y)
        n, D, k = P.shape
        Pall = P.reshape(-1, k)
        N = len(yt)
        Kxx = (Ptr * S) @ Ptr.T + self.noise_variance * torch.eye(N, dtype=torch.float64)
        Lch = torch.linalg.cholesky(Kxx)
        Ksx = (Pall * S) @ Ptr.T
        mean = Ksx @ torch.cholesky_solve(yt[:, None], Lch)
        V = torch.cholesky_solve(Ksx.T, Lch)
        var = ((Pall * S) * Pall).sum(1) - (Ksx * V.T).sum(1)
        return mean.reshape(n, D), var.clamp_min(0).reshape(n, D)

    def forward(self, data: Any) -> torch.Tensor:
        return self.posterior(data)[0].to(torch.float32)

    def training_step(self, x: Any, y: Any, loss_fn: Any = None) -> torch.Tensor:
        """The negative log marginal likelihood on the training nodes (the pipeline's optimiser
        minimises it); the targets it sees (possibly standardised by the pipeline) are kept for
        ``forward``."""
        geo = self.geometry(x)
        yy = torch.as_tensor(y, dtype=torch.float64).reshape(geo.n, -1)
        if yy.shape[1] != geo.D:
            raise ValueError(f"targets must have shape ({geo.n}, {geo.D}), got {tuple(yy.shape)}")
        self._y_fit = yy.detach()
        return self.neg_log_marginal_likelihood(x, yy).to(torch.float32)

    def fit_hyperparameters(self, data: Any, max_iter: int = 100) -> list[float]:
        """L-BFGS on the negative log marginal likelihood (as the authors do with gpflow's Scipy
        optimiser); returns the loss history."""
        opt = torch.optim.LBFGS(self.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")
        hist: list[float] = []

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = self.neg_log_marginal_likelihood(data)
            loss.backward()
            hist.append(float(loss.detach()))
            return loss

        opt.step(closure)
        return hist


# ---------------------------------------------------------------------------- data
def fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` nearly uniform points on the unit sphere (Fibonacci lattice)."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    r = np.sqrt(1 - z**2)
    th = np.pi * (1 + 5**0.5) * i
    return np.c_[r * np.cos(th), r * np.sin(th), z]


def sphere_field(X: np.ndarray) -> np.ndarray:
    """A smooth tangent field on S^2: rotation about z (``e_z x x``) plus the tangential gradient of
    the degree-2 harmonic ``x z`` (grad = (z, 0, x) projected on the tangent plane)."""
    rot = np.cross(np.array([0.0, 0.0, 1.0]), X)
    g = np.c_[X[:, 2], np.zeros(len(X)), X[:, 0]]
    g = g - (g * X).sum(1, keepdims=True) * X
    return rot + g


class SphereVectorField(Dataset):
    """A smooth tangent vector field on Fibonacci points of the unit sphere (``graph_nodes``,
    regression): ``pos``/``x`` the points, ``y`` the ambient vectors, a random ``train_fraction``
    of nodes observed (``train_mask``), the rest to predict (``test_mask``); optional Gaussian
    noise on the observed vectors."""

    data_type = "graph_nodes"
    task = "regression"

    def __init__(self, n_points: Size = 600, train_fraction: float = 0.3, noise: float = 0.0, seed: int = 0) -> None:
        if not 0 < train_fraction < 1:
            raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
        if not (noise >= 0 and np.isfinite(noise)):
            raise ValueError(f"noise must be finite and >= 0, got {noise}")
        if n_points < 10:
            raise ValueError(f"n_points must be >= 10, got {n_points}")
        self.n_points, self.train_fraction, self.noise, self.seed = n_points, train_fraction, noise, seed

    def load(self) -> DataBundle:
        from torch_geometric.data import Data

        rng = np.random.default_rng(self.seed)
        X = fibonacci_sphere(self.n_points)
        V = sphere_field(X)
        Vn = V + self.noise * rng.normal(size=V.shape)
        tr = np.zeros(self.n_points, dtype=bool)
        tr[rng.permutation(self.n_points)[: int(round(self.train_fraction * self.n_points))]] = True
        y = np.where(tr[:, None], Vn, V)
        A = knn_graph(X, 6).tocoo()
        keep = A.row != A.col
        data = Data(x=torch.tensor(X, dtype=torch.float32), pos=torch.tensor(X, dtype=torch.float64),
                    y=torch.tensor(y, dtype=torch.float32),
                    edge_index=torch.tensor(np.vstack([A.row[keep], A.col[keep]]), dtype=torch.long),
                    train_mask=torch.tensor(tr), test_mask=torch.tensor(~tr))
        return DataBundle(data, y.astype(np.float32), "graph_nodes", task="regression", meta={"dim": 3})
