"""The augmented covariance matrix (ACM) of Carrara & Papadopoulo: delay embedding + covariance.

For a trial ``x(t) in R^C`` (``t = 0..T-1``), order ``p`` and lag ``tau``, the delay-embedded
signal is ``x~(t) = [x(t); x(t - tau); ...; x(t - (p-1) tau)] in R^{pC}`` and the ACM its
covariance, an SPD matrix of size ``pC`` whose blocks are the lagged autocovariances
(the Yule-Walker matrix of a VAR model). ``(p, tau)`` are chosen by grid search with a
cross-validated MDM (the paper's default, orders and lags 1..10), by the authors' aFNN procedure
(first minimum of the average mutual information for ``tau``, first maximum of Cao's averaged
false-nearest-neighbour ratio for ``p``), or by our own simpler heuristic (``"ami_fnn"``: Kennel's
false nearest neighbours for ``p``). The authors' second procedure, MDOP, is not implemented.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Descriptor

ESTIMATORS = ("scm", "cov", "lwf")
SELECTIONS = ("fixed", "grid", "afnn", "ami_fnn")
BOUNDARIES = ("truncate", "circular")


def _check_sequences(X: Any, what: str = "X") -> np.ndarray:
    try:
        import torch

        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"{what} must be multichannel signals of shape (N, T, C), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"{what} is empty (shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return arr


def _check_order_lag(order: Any, lag: Any) -> tuple[int, int]:
    for val, name in ((order, "order"), (lag, "lag")):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {val!r}")
    return int(order), int(lag)


def delay_embedding(X: Any, order: int, lag: int, boundary: str = "truncate") -> np.ndarray:
    """Delay-embedded signals ``(N, order * C, T')`` from signals ``(N, T, C)``.

    Block ``k`` (rows ``kC .. (k+1)C - 1``) holds ``x(t - k lag)``. ``boundary="truncate"`` keeps
    ``t = (order-1) lag .. T-1`` (``T' = T - (order-1) lag``); ``"circular"`` wraps around
    (``T' = T``, as pyriemann's ``TimeDelayCovariances``).
    """
    arr = _check_sequences(X)
    order, lag = _check_order_lag(order, lag)
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    sig = arr.transpose(0, 2, 1)  # (N, C, T)
    t = sig.shape[-1]
    span = (order - 1) * lag
    if boundary == "circular":
        return np.concatenate([np.roll(sig, k * lag, axis=-1) for k in range(order)], axis=1)
    if t - span < 2:
        raise ValueError(f"signals of length {t} are too short for order={order}, lag={lag} (need > {span + 1} samples)")
    return np.concatenate([sig[:, :, span - k * lag : t - k * lag] for k in range(order)], axis=1)


def covariances(Z: np.ndarray, estimator: str = "scm") -> np.ndarray:
    """Covariance matrices of ``(N, d, T)`` signals: ``scm`` (centred, / T), ``cov`` (/ (T-1)), ``lwf``."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    zc = Z - Z.mean(-1, keepdims=True)
    t = Z.shape[-1]
    if estimator == "lwf":
        from sklearn.covariance import ledoit_wolf

        return np.stack([ledoit_wolf(z.T, assume_centered=True)[0] for z in zc])
    c = zc @ zc.transpose(0, 2, 1) / (t if estimator == "scm" else t - 1)
    return 0.5 * (c + c.transpose(0, 2, 1))


def augmented_covariances(X: Any, order: int, lag: int, estimator: str = "scm", boundary: str = "truncate") -> np.ndarray:
    """Augmented covariance matrices ``(N, order * C, order * C)`` of signals ``(N, T, C)``."""
    return covariances(delay_embedding(X, order, lag, boundary), estimator)


# ---------------------------------------------------------------------------- (order, lag) selection
def select_order_lag_grid(
    X: Any,
    y: Any,
    orders: Sequence[int],
    lags: Sequence[int],
    *,
    cv: int = 3,
    estimator: str = "scm",
    boundary: str = "truncate",
    metric: str = "affine_invariant",
    random_state: int = 0,
) -> tuple[int, int, dict[tuple[int, int], float]]:
    """Grid search of ``(order, lag)`` by the stratified ``cv``-fold accuracy of a closed-form MDM.

    Ties go to the smaller embedding (``order``, then ``lag``). Returns ``(order, lag, scores)``.
    """
    from sklearn.model_selection import StratifiedKFold

    from .mdm import MDM

    arr = _check_sequences(X)
    y = np.asarray(y)
    if y is None or len(y) != len(arr):
        raise ValueError("grid selection needs labels y, one per trial")
    if not orders or not lags:
        raise ValueError("orders and lags must list at least one candidate each")
    folds = list(StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state).split(arr[:, 0, :1], y))
    scores: dict[tuple[int, int], float] = {}
    for p in sorted(set(orders)):
        for tau in sorted(set(lags)) if p > 1 else [min(lags)]:
            try:
                c = augmented_covariances(arr, p, tau, estimator, boundary)
                lam = np.linalg.eigvalsh(c)
                if (lam[:, 0] <= 1e-12 * lam[:, -1]).any():
                    continue
            except ValueError:
                continue
            accs = [MDM(metric=metric, max_iter=50, tol=1e-8).fit(c[tr], y[tr]).score(c[te], y[te]) for tr, te in folds]
            scores[(p, tau)] = float(np.mean(accs))
    if not scores:
        raise ValueError("no (order, lag) candidate gives positive-definite augmented covariances; use shorter lags or longer signals")
    best = max(scores.values())
    p, tau = min(k for k, v in scores.items() if v >= best - 1e-12)
    return p, tau, scores


def average_mutual_information(X: Any, max_lag: int, bins: int = 16) -> np.ndarray:
    """Average (over channels) mutual information ``I(x(t); x(t + tau))`` for ``tau = 1..max_lag``.

    Histogram estimator on the pooled trials, in nats.
    """
    arr = _check_sequences(X)
    out = np.zeros(max_lag)
    for c in range(arr.shape[2]):
        sig = arr[:, :, c]
        edges = np.quantile(sig, np.linspace(0, 1, bins + 1))
        edges[-1] += 1e-12
        codes = np.clip(np.searchsorted(edges, sig, side="right") - 1, 0, bins - 1)
        for tau in range(1, max_lag + 1):
            a, b = codes[:, :-tau].ravel(), codes[:, tau:].ravel()
            joint = np.bincount(a * bins + b, minlength=bins * bins).reshape(bins, bins) / len(a)
            pa, pb = joint.sum(1), joint.sum(0)
            nz = joint > 0
            out[tau - 1] += float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    return out / arr.shape[2]


def false_nearest_neighbours(X: Any, lag: int, max_order: int, *, rtol: float = 10.0, n_points: int = 1000, random_state: int = 0) -> np.ndarray:
    """Fraction of false nearest neighbours (Kennel et al. 1992) of the multichannel delay
    embedding for ``order = 1..max_order`` (the last entry compares ``max_order`` with ``max_order + 1``)."""
    from sklearn.neighbors import NearestNeighbors

    arr = _check_sequences(X)
    rng = np.random.default_rng(random_state)
    out = np.zeros(max_order)
    for m in range(1, max_order + 1):
        z = delay_embedding(arr, m + 1, lag)  # (N, (m+1) C, T')
        pts = z.transpose(0, 2, 1).reshape(-1, z.shape[1])
        if len(pts) > n_points:
            pts = pts[rng.choice(len(pts), n_points, replace=False)]
        c = arr.shape[2]
        low, extra = pts[:, : m * c], pts[:, m * c :]
        nn_ = NearestNeighbors(n_neighbors=2).fit(low)
        dist, idx = nn_.kneighbors(low)
        d_low = np.maximum(dist[:, 1], 1e-12)
        d_extra = np.linalg.norm(extra - extra[idx[:, 1]], axis=1)
        out[m - 1] = float(np.mean(d_extra / d_low > rtol))
    return out


def select_order_lag_embedding(X: Any, max_order: int, max_lag: int, *, fnn_threshold: float = 0.1, rtol: float = 10.0, random_state: int = 0) -> tuple[int, int]:
    """Our heuristic (``selection="ami_fnn"``, not the authors' procedure): ``lag`` = first local
    minimum of the pooled average mutual information (else its minimum); ``order`` = smallest
    order whose Kennel false-nearest-neighbour fraction falls below ``fnn_threshold``."""
    ami = average_mutual_information(X, max_lag)
    lag = int(np.argmin(ami)) + 1
    for k in range(1, len(ami) - 1):
        if ami[k] < ami[k - 1] and ami[k] <= ami[k + 1]:
            lag = k + 1
            break
    fnn = false_nearest_neighbours(X, lag, max_order, rtol=rtol, random_state=random_state)
    below = np.nonzero(fnn < fnn_threshold)[0]
    order = int(below[0]) + 1 if len(below) else max_order
    return order, lag


def _first_local_min(curve: np.ndarray) -> int:
    """0-based index of the first interior local minimum (``c[k-1] > c[k] <= c[k+1]``), else the argmin."""
    for k in range(1, len(curve) - 1):
        if curve[k] < curve[k - 1] and curve[k] <= curve[k + 1]:
            return k
    return int(np.argmin(curve))


def _first_local_max(curve: np.ndarray) -> int:
    """0-based index of the first interior local maximum (``c[k-1] <= c[k] >= c[k+1]``, non-strict),
    else the argmax."""
    for k in range(1, len(curve) - 1):
        if curve[k] >= curve[k - 1] and curve[k] >= curve[k + 1]:
            return k
    return int(np.argmax(curve))


def _ami_series(x: np.ndarray, max_lag: int, bins: int) -> np.ndarray:
    """Histogram mutual information ``I(x(t); x(t + tau))``, ``tau = 1..max_lag`` (nats), one series."""
    edges = np.quantile(x, np.linspace(0, 1, bins + 1))
    edges[-1] += 1e-12
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    out = np.zeros(max_lag)
    for tau in range(1, max_lag + 1):
        a, b = codes[:-tau], codes[tau:]
        joint = np.bincount(a * bins + b, minlength=bins * bins).reshape(bins, bins) / len(a)
        pa, pb = joint.sum(1), joint.sum(0)
        nz = joint > 0
        out[tau - 1] = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    return out


def cao_e1(x: Any, lag: int, max_dim: int) -> np.ndarray:
    """Cao's averaged false nearest neighbours (Cao 1997) of a scalar series: ``E1(d) = E(d+1) / E(d)``
    for ``d = 1..max_dim``, with ``E(d)`` the mean over points of
    ``||y_i^(d+1) - y_n(i)^(d+1)||_inf / ||y_i^(d) - y_n(i)^(d)||_inf``, ``y^(d)`` the ``d``-dimensional
    delay vectors ``[x(t), x(t + lag), ..., x(t + (d-1) lag)]`` and ``n(i)`` the nearest neighbour of
    ``i`` in dimension ``d`` (max-norm, itself excluded). ``E1`` stops changing (near 1) from the
    embedding dimension on. The points are those with a ``(max_dim + 2)``-dimensional embedding."""
    from scipy.spatial import cKDTree

    x = np.asarray(x, dtype=np.float64).ravel()
    m = len(x) - (max_dim + 1) * lag  # points with a (max_dim + 2)-dimensional delay vector
    if m < 3:
        raise ValueError(f"series of length {len(x)} is too short for Cao's method with lag={lag}, max_dim={max_dim}")
    full = np.stack([x[k * lag : k * lag + m] for k in range(max_dim + 2)], axis=1)
    E = np.zeros(max_dim + 1)
    for d in range(1, max_dim + 2):
        low = full[:, :d]
        dist, idx = cKDTree(low).query(low, k=2, p=np.inf)
        nb = idx[:, 1]
        den = np.maximum(dist[:, 1], 1e-12)
        num = np.abs(full[:, : d + 1] - full[nb, : d + 1]).max(axis=1)
        E[d - 1] = float(np.mean(num / den))
    return E[1:] / E[:-1]


def select_order_lag_afnn(X: Any, max_order: int, max_lag: int, *, bins: int = 16) -> tuple[int, int, np.ndarray, np.ndarray]:
    """The authors' "aFNN" procedure (``Takens.jl`` in their moabb fork, with DelayEmbeddings.jl):
    for every trial and channel, the mutual-information curve for lags ``1..max_lag`` and Cao's
    ``E1`` for dimensions ``1..max_order``, computed at that series' own delay (its first
    mutual-information minimum); both curves averaged over trials and channels; ``lag`` = first
    local minimum of the average mutual information, ``order`` = first local maximum of the
    average ``E1``. Returns ``(order, lag, ami, e1)``.

    Differences from the authors' run: histogram mutual information (``bins`` quantile bins), not
    DelayEmbeddings.jl's estimator; ``max_order``/``max_lag`` from the candidate lists (they use 30).
    """
    arr = _check_sequences(X)
    ami_sum, e1_sum = np.zeros(max_lag), np.zeros(max_order)
    for trial in arr:
        for c in range(arr.shape[2]):
            x = trial[:, c]
            ami = _ami_series(x, max_lag, bins)
            ami_sum += ami
            e1_sum += cao_e1(x, _first_local_min(ami) + 1, max_order)
    k = arr.shape[0] * arr.shape[2]
    ami, e1 = ami_sum / k, e1_sum / k
    return _first_local_max(e1) + 1, _first_local_min(ami) + 1, ami, e1


# ---------------------------------------------------------------------------- the descriptor
class AugmentedCovariance(Descriptor):
    """Augmented covariance matrices of multichannel signals ``(N, T, C)``.

    Parameters
    ----------
    order : int
        Embedding order ``p`` (number of delayed copies; 1 = the plain spatial covariance).
    lag : int
        Delay ``tau`` in samples.
    selection : str
        ``"fixed"`` (use ``order``/``lag``), ``"grid"`` (cross-validated MDM accuracy over
        ``orders`` x ``lags`` on the training data, the paper's default), ``"afnn"`` (the
        authors' aFNN procedure: mutual information for the lag, Cao's averaged false nearest
        neighbours for the order, :func:`select_order_lag_afnn`) or ``"ami_fnn"`` (our simpler
        heuristic with Kennel's false nearest neighbours, :func:`select_order_lag_embedding`;
        formerly called ``"embedding"``).
    orders, lags : list of int
        Candidates for the selection (the paper's grid: 1..10 each; ``"afnn"``/``"ami_fnn"`` use
        their maxima).
    cv : int
        Folds of the grid search.
    estimator : str
        ``"scm"`` (centred, divided by T: pyriemann's default), ``"cov"`` (T - 1) or ``"lwf"``
        (Ledoit-Wolf shrinkage).
    boundary : str
        ``"truncate"`` (drop the first ``(p-1) tau`` samples) or ``"circular"`` (wrap around).
    output : str
        ``"spd"``: the matrices ``(N, d, d)`` (data type ``spd`` for the next step);
        ``"tangent"``: their affine-invariant log-map at the training Riemannian mean, upper
        triangle with ``sqrt(2)`` off-diagonal weights (``(N, d (d + 1) / 2)`` features).
    random_state : int
        Seed of the cross-validation folds / FNN subsampling.
    """

    input_type: ClassVar[str] = "sequence"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = True

    def __init__(
        self,
        order: int = 4,
        lag: int = 1,
        selection: str = "fixed",
        orders: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
        lags: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
        cv: int = 3,
        estimator: str = "scm",
        boundary: str = "truncate",
        output: str = "spd",
        random_state: int = 0,
    ) -> None:
        self.order = order
        self.lag = lag
        self.selection = selection
        self.orders = orders
        self.lags = lags
        self.cv = cv
        self.estimator = estimator
        self.boundary = boundary
        self.output = output
        self.random_state = random_state

    @property
    def output_type(self) -> str:
        """Data type of ``transform``'s output for the next pipeline step."""
        return "spd" if self.output == "spd" else "features"

    def _validate(self) -> None:
        _check_order_lag(self.order, self.lag)
        if self.selection == "embedding":
            raise ValueError(
                "selection='embedding' was renamed: 'afnn' is the authors' aFNN procedure (Cao's averaged "
                "false nearest neighbours), 'ami_fnn' our former heuristic (Kennel's false nearest neighbours)"
            )
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"boundary must be one of {BOUNDARIES}, got {self.boundary!r}")
        if self.output not in ("spd", "tangent"):
            raise ValueError(f"output must be 'spd' or 'tangent', got {self.output!r}")
        if self.selection != "fixed":
            for name, vals in (("orders", self.orders), ("lags", self.lags)):
                if not vals or any(not isinstance(v, (int, np.integer)) or v < 1 for v in vals):
                    raise ValueError(f"{name} must be a non-empty list of integers >= 1, got {vals!r}")
        if not isinstance(self.cv, int) or self.cv < 2:
            raise ValueError(f"cv must be an integer >= 2, got {self.cv!r}")

    def fit(self, X: Any, y: Any = None) -> AugmentedCovariance:
        self._validate()
        arr = _check_sequences(X)
        self.scores_: dict[tuple[int, int], float] = {}
        if self.selection == "grid":
            if y is None:
                raise ValueError("selection='grid' needs labels y in fit(X, y)")
            self.order_, self.lag_, self.scores_ = select_order_lag_grid(
                arr, y, list(self.orders), list(self.lags), cv=self.cv, estimator=self.estimator,
                boundary=self.boundary, random_state=self.random_state,
            )
        elif self.selection == "afnn":
            self.order_, self.lag_, self.ami_, self.e1_ = select_order_lag_afnn(arr, max(self.orders), max(self.lags))
        elif self.selection == "ami_fnn":
            self.order_, self.lag_ = select_order_lag_embedding(arr, max(self.orders), max(self.lags), random_state=self.random_state)
        else:
            self.order_, self.lag_ = int(self.order), int(self.lag)
        self.n_channels_ = arr.shape[2]
        self._matrices(arr[:1])  # fail early: too-short signals, rank-deficient covariances
        if self.output == "tangent":
            import torch

            import geoatlas as ga

            c = self._matrices(arr)
            spd = ga.create("manifold", "spd", n=c.shape[-1])
            ref = spd.frechet_mean(torch.from_numpy(c), max_iter=50, tol=1e-9)
            self.reference_ = ref.numpy()
            self.reference_invsqrt_ = spd.matrix_function(ref, "invsqrt").numpy()
        return self

    def _matrices(self, arr: np.ndarray) -> np.ndarray:
        c = augmented_covariances(arr, self.order_, self.lag_, self.estimator, self.boundary)
        lam = np.linalg.eigvalsh(c)
        lo = lam[:, 0] - 1e-12 * lam[:, -1]  # numerically singular counts as rank-deficient
        if (lo <= 0).any():
            raise ValueError(
                f"{int((lo <= 0).sum())} augmented covariance(s) are not positive-definite (rank-deficient): "
                f"trials are too short or channels collinear for order={self.order_}, lag={self.lag_}; "
                "use estimator='lwf' or a smaller order"
            )
        return c

    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "order_"):
            raise ValueError("call fit before transform")
        arr = _check_sequences(X)
        if arr.shape[2] != self.n_channels_:
            raise ValueError(f"X has {arr.shape[2]} channels, the descriptor was fitted on {self.n_channels_}")
        c = self._matrices(arr)
        if self.output == "spd":
            return c
        w = self.reference_invsqrt_
        lam, q = np.linalg.eigh(w @ c @ w)
        logs = (q * np.log(lam)[:, None, :]) @ q.transpose(0, 2, 1)
        d = c.shape[-1]
        iu = np.triu_indices(d)
        coef = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
        return logs[:, iu[0], iu[1]] * coef
