"""Schur-complement decomposition of a joint kernel covariance, its entropy (SCE), and defocus.

Given paired embeddings ``(x_T, x_I)`` (e.g. text prompts and the images generated from them) and
a kernel feature map ``phi`` with ``k(x, x) = 1``, form the uncentred kernel covariances

    C_TT = Phi_T^T Phi_T / n,   C_TI = Phi_T^T Phi_I / n,   C_II = Phi_I^T Phi_I / n.

The Schur complement of ``C_TT`` in the joint covariance splits the image covariance into a
text-explained part and a remainder:

    C_II = C_IT C_TT^+ C_TI  +  Lambda,        Lambda = C_II - C_IT C_TT^+ C_TI  (PSD).

The Schur Complement Entropy score is the exponential of the entropy of ``Lambda``'s spectrum,

    SCE = exp( - sum_i lambda_i log(lambda_i / sum_j lambda_j) ),

(the same functional on ``C_IT C_TT^+ C_TI`` gives the text-induced score). The defocused
embedding removes the text-predictable part: ``phi(x_I) - A*^T phi(x_T)`` with
``A* = C_TT^+ C_TI``, the least-squares regression of ``Phi_I`` on ``Phi_T``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Descriptor, Measure

__all__ = [
    "KernelFeatures",
    "SchurDecomposition",
    "SchurDefocus",
    "SchurComplementEntropyScores",
    "SchurComplementEntropyMeasure",
    "schur_decomposition",
    "schur_complement_entropy",
    "schur_entropy_from_eigenvalues",
    "schur_complement_entropy_from_kernels",
]

KERNELS = ("gaussian", "cosine")


def _as_matrix(X: Any, what: str) -> np.ndarray:
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a numeric array, got {type(X).__name__}") from exc
    if X.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n_samples, dim), got shape {X.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"{what} needs at least 2 samples, got {X.shape[0]}")
    if X.shape[1] < 1:
        raise ValueError(f"{what} has no features")
    if not np.isfinite(X).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return X


class KernelFeatures:
    """Explicit feature map ``phi`` of the kernel, with ``<phi(x), phi(x)> = 1``.

    ``"gaussian"``: random Fourier features ``[cos(x w), sin(x w)] / sqrt(m)``,
    ``w ~ N(0, sigma^{-2} I)`` (``m = rff_dim`` frequencies; ``phi`` has ``2m`` coordinates and
    approximates ``exp(-|x - x'|^2 / (2 sigma^2))``). ``"cosine"``: ``phi(x) = x / |x|``.
    The same frequencies are used for both modalities (they must share the embedding dimension).
    """

    def __init__(self, kernel: str = "gaussian", sigma: float = 1.0, rff_dim: int = 2500, seed: int = 0) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        if not (isinstance(sigma, (int, float)) and np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
        if not (isinstance(rff_dim, (int, np.integer)) and rff_dim >= 1):
            raise ValueError(f"rff_dim must be a positive integer, got {rff_dim!r}")
        self.kernel = kernel
        self.sigma = float(sigma)
        self.rff_dim = int(rff_dim)
        self.seed = seed
        self._omegas: dict[int, np.ndarray] = {}

    def omegas(self, dim: int) -> np.ndarray:
        if dim not in self._omegas:
            rng = np.random.default_rng(self.seed)
            self._omegas[dim] = rng.normal(size=(dim, self.rff_dim)) / self.sigma
        return self._omegas[dim]

    def __call__(self, X: np.ndarray, what: str = "X") -> np.ndarray:
        if self.kernel == "cosine":
            nrm = np.linalg.norm(X, axis=1, keepdims=True)
            if (nrm == 0).any():
                raise ValueError(f"{what} has all-zero rows: the cosine kernel is undefined for them")
            return X / nrm
        P = X @ self.omegas(X.shape[1])
        return np.concatenate([np.cos(P), np.sin(P)], axis=1) / np.sqrt(self.rff_dim)


def schur_entropy_from_eigenvalues(eigenvalues: Any, *, tol: float = 1e-10, ref_scale: float = 0.0) -> float:
    """``exp(-sum_i l_i log(l_i / sum_j l_j))`` over the spectrum of a PSD matrix.

    Eigenvalues below ``tol * scale`` with ``scale = max(max|l|, ref_scale)`` (round-off of a PSD
    matrix; ``ref_scale`` is the trace of the full image covariance, 1 for normalised kernels)
    are treated as 0 and contribute ``0 log 0 = 0``. An all-zero spectrum gives 1 (nothing left).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if not np.isfinite(lam).all():
        raise ValueError("eigenvalues contain NaN or Inf")
    scale = max(float(np.abs(lam).max()) if lam.size else 0.0, float(ref_scale))
    if scale == 0.0 or not (lam > tol * scale).any():
        return 1.0
    if lam.min() < -1e-8 * scale:
        raise ValueError(f"matrix is not positive semi-definite (eigenvalue {lam.min():.3e})")
    lam = lam[lam > tol * scale]
    p = lam / lam.sum()
    return float(np.exp(-np.sum(lam * np.log(p))))


@dataclass
class SchurDecomposition:
    """The blocks of the joint kernel covariance and its Schur-complement split."""

    C_TT: np.ndarray
    C_TI: np.ndarray
    C_II: np.ndarray
    A_star: np.ndarray  # C_TT^+ C_TI
    complement: np.ndarray  # Lambda = C_II - C_IT C_TT^+ C_TI (model-induced part)
    text_part: np.ndarray  # C_IT C_TT^+ C_TI (text-induced part)
    features: KernelFeatures


def schur_decomposition(
    text: Any,
    image: Any,
    *,
    kernel: str = "gaussian",
    sigma: float = 1.0,
    rff_dim: int = 2500,
    seed: int = 0,
    rcond: float | str = 1e-10,
) -> SchurDecomposition:
    """Decompose the image kernel covariance into text-induced and model-induced parts.

    Parameters
    ----------
    text, image : array (n, d_T), (n, d_I)
        Paired embeddings (row ``i`` of ``image`` was produced from row ``i`` of ``text``).
        For ``kernel="gaussian"`` both must have the same dimension (shared frequencies, as in the
        reference code, which uses a joint text-image embedding such as CLIP's).
    kernel, sigma, rff_dim, seed
        See :class:`KernelFeatures`.
    rcond : float or "reference"
        Relative cut-off of the pseudo-inverse ``C_TT^+`` (singular values below
        ``rcond * max`` are dropped). ``"reference"``: the authors' regularisation,
        ``pinv(C_TT + 1e-12 I)`` with the cut-off ``eps * dim``, and ``Lambda`` by subtraction.
        The two differ materially when ``C_TT`` is nearly singular (near-duplicate prompts): see
        the README's measurements.
    """
    T = _as_matrix(text, "text")
    Im = _as_matrix(image, "image")
    if T.shape[0] != Im.shape[0]:
        raise ValueError(f"text and image must have the same number of rows (pairs), got {T.shape[0]} and {Im.shape[0]}")
    if kernel == "gaussian" and T.shape[1] != Im.shape[1]:
        raise ValueError(
            f"text and image embeddings must share the dimension for the gaussian kernel, got {T.shape[1]} and {Im.shape[1]}"
        )
    _check_rcond(rcond)
    phi = KernelFeatures(kernel, sigma, rff_dim, seed)
    FT, FI = phi(T, "text"), phi(Im, "image")
    n = T.shape[0]
    C_TT, C_TI, C_II = FT.T @ FT / n, FT.T @ FI / n, FI.T @ FI / n
    if rcond == "reference":
        # the authors' code: pinv(C_TT + 1e-12 I) with torch's default cut-off eps * dim, and the
        # blocks by subtraction (not PSD by construction; the spectra are clipped at 0 downstream)
        d = C_TT.shape[0]
        A = np.linalg.pinv(C_TT + 1e-12 * np.eye(d), rcond=d * np.finfo(np.float64).eps, hermitian=True) @ C_TI
        text_part = C_TI.T @ A
        text_part = (text_part + text_part.T) / 2
        return SchurDecomposition(C_TT, C_TI, C_II, A, C_II - text_part, text_part, phi)
    A = np.linalg.pinv(C_TT, rcond=rcond, hermitian=True) @ C_TI
    # Lambda = C_II - C_IT C_TT^+ C_TI is computed as R^T R / n with R = Phi_I - Phi_T A*
    # (algebraically identical since C_TT^+ C_TT C_TT^+ = C_TT^+), which is PSD by construction
    # and avoids the cancellation of the subtraction.
    R = FI - FT @ A
    E = FT @ A
    comp = R.T @ R / n
    text_part = E.T @ E / n
    return SchurDecomposition(C_TT, C_TI, C_II, A, comp, text_part, phi)


def _check_rcond(rcond: Any) -> None:
    if rcond == "reference":
        return
    if isinstance(rcond, bool) or not (isinstance(rcond, (int, float)) and 0 <= rcond < 1):
        raise ValueError(f"rcond must be a number in [0, 1) or 'reference', got {rcond!r}")


@dataclass
class SchurComplementEntropyScores:
    """SCE of the model-induced part (``image``) and of the text-induced part (``text``)."""

    image: float
    text: float


def schur_complement_entropy(
    text: Any,
    image: Any,
    *,
    kernel: str = "gaussian",
    sigma: float = 1.0,
    rff_dim: int = 2500,
    seed: int = 0,
    rcond: float | str = 1e-10,
) -> SchurComplementEntropyScores:
    """SCE scores of paired embeddings (see module docstring).

    ``image`` is the paper's Schur Complement Entropy (model-induced / intrinsic diversity);
    ``text`` is the same functional on the text-explained part ``C_IT C_TT^+ C_TI``.
    The spectra are computed on the ``n x n`` side when ``n`` is smaller than the feature
    dimension (identical non-zero eigenvalues).
    """
    T = _as_matrix(text, "text")
    Im = _as_matrix(image, "image")
    _check_rcond(rcond)
    phi = KernelFeatures(kernel, sigma, rff_dim, seed)
    n = T.shape[0]
    feat_dim = 2 * phi.rff_dim if kernel == "gaussian" else max(T.shape[1], Im.shape[1])
    if rcond == "reference":  # the authors' route is in feature space
        dec = schur_decomposition(T, Im, kernel=kernel, sigma=sigma, rff_dim=rff_dim, seed=seed, rcond=rcond)
        ref = float(np.trace(dec.C_II))
        return SchurComplementEntropyScores(
            image=schur_entropy_from_eigenvalues(np.clip(np.linalg.eigvalsh(dec.complement), 0, None), ref_scale=ref),
            text=schur_entropy_from_eigenvalues(np.clip(np.linalg.eigvalsh(dec.text_part), 0, None), ref_scale=ref),
        )
    if feat_dim > n and T.shape[0] == Im.shape[0] and (kernel == "cosine" or T.shape[1] == Im.shape[1]):
        # n x n side: the same non-zero spectra (K_T eigenvalues are n x those of C_TT, so the
        # relative cut-off rcond means the same), O(n^3) instead of O(feat_dim^3)
        FT, FI = phi(T, "text"), phi(Im, "image")
        return schur_complement_entropy_from_kernels(FT @ FT.T, FI @ FI.T, rcond=rcond)
    dec = schur_decomposition(T, Im, kernel=kernel, sigma=sigma, rff_dim=rff_dim, seed=seed, rcond=rcond)
    ref = float(np.trace(dec.C_II))
    return SchurComplementEntropyScores(
        image=schur_entropy_from_eigenvalues(np.linalg.eigvalsh(dec.complement), ref_scale=ref),
        text=schur_entropy_from_eigenvalues(np.linalg.eigvalsh(dec.text_part), ref_scale=ref),
    )


def schur_complement_entropy_from_kernels(K_text: Any, K_image: Any, *, rcond: float = 1e-10) -> SchurComplementEntropyScores:
    """SCE from ``n x n`` kernel matrices only (exact kernels, no random features).

    With ``P_T = K_T K_T^+`` the projector onto the span of the text features, the non-zero
    eigenvalues of ``Lambda`` are those of ``(I - P_T) K_I (I - P_T) / n`` and those of the text
    part are those of ``P_T K_I P_T / n``.
    """
    if rcond == "reference":
        raise ValueError("rcond='reference' (pinv(C_TT + 1e-12 I)) is defined on features: use schur_complement_entropy")
    _check_rcond(rcond)
    KT, KI = _as_matrix(K_text, "K_text"), _as_matrix(K_image, "K_image")
    n = KT.shape[0]
    if KT.shape != (n, n) or KI.shape != (n, n):
        raise ValueError(f"K_text and K_image must be square (n, n) of the same size, got {KT.shape} and {KI.shape}")
    for K, what in ((KT, "K_text"), (KI, "K_image")):
        if np.abs(K - K.T).max() > 1e-8 * max(1.0, np.abs(K).max()):
            raise ValueError(f"{what} must be symmetric")
        if np.linalg.eigvalsh((K + K.T) / 2).min() < -1e-8 * max(1.0, np.abs(K).max()):
            raise ValueError(f"{what} must be positive semi-definite (a kernel matrix)")
    P = KT @ np.linalg.pinv(KT, rcond=rcond, hermitian=True)
    P = (P + P.T) / 2
    Q = np.eye(n) - P
    rest = Q @ KI @ Q / n
    expl = P @ KI @ P / n
    ref = float(np.trace(KI)) / n
    return SchurComplementEntropyScores(
        image=schur_entropy_from_eigenvalues(np.linalg.eigvalsh((rest + rest.T) / 2), ref_scale=ref),
        text=schur_entropy_from_eigenvalues(np.linalg.eigvalsh((expl + expl.T) / 2), ref_scale=ref),
    )


class SchurDefocus(Descriptor):
    """Defocus image embeddings away from the text (prompt) information (Schur complement).

    ``X`` is ``(n, d_I + d_T)``: each row the image embedding followed by the ``text_dims``
    coordinates of its paired text embedding. ``fit`` learns ``A* = C_TT^+ C_TI`` on the kernel
    features; ``transform`` returns ``phi(x_I) - A*^T phi(x_T)`` (``kernel="cosine"``: in the
    normalised embedding space; ``"gaussian"``: in random-Fourier-feature space).

    Parameters
    ----------
    text_dims : int
        Number of trailing columns of ``X`` holding the text embedding.
    kernel, sigma, rff_dim, seed, rcond
        As in :func:`schur_decomposition`.
    """

    input_type: ClassVar[str] = "features"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = False

    def __init__(
        self,
        text_dims: int = 1,
        kernel: str = "cosine",
        sigma: float = 1.0,
        rff_dim: int = 500,
        seed: int = 0,
        rcond: float | str = 1e-10,
    ) -> None:
        self.text_dims = text_dims
        self.kernel = kernel
        self.sigma = sigma
        self.rff_dim = rff_dim
        self.seed = seed
        self.rcond = rcond

    def _split(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n_samples, image_dims + text_dims), got {X.shape}")
        if not isinstance(self.text_dims, (int, np.integer)) or not (1 <= self.text_dims < X.shape[1]):
            raise ValueError(f"text_dims must be an integer in [1, {X.shape[1] - 1}], got {self.text_dims!r}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or Inf values")
        return X[:, : X.shape[1] - self.text_dims], X[:, X.shape[1] - self.text_dims :]

    def fit(self, X: Any, y: Any = None) -> SchurDefocus:
        I_, T_ = self._split(X)
        dec = schur_decomposition(T_, I_, kernel=self.kernel, sigma=self.sigma, rff_dim=self.rff_dim, seed=self.seed, rcond=self.rcond)
        self.A_star_ = dec.A_star
        self.features_ = dec.features
        return self

    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "A_star_"):
            raise RuntimeError("SchurDefocus must be fitted before transform")
        I_, T_ = self._split(X)
        if I_.shape[0] == 0:
            raise ValueError("X is empty")
        return self.features_(I_, "image") - self.features_(T_, "text") @ self.A_star_


def _spectrum_of_rows(R: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``R^T R / n`` from the smaller of its two Gram matrices (same non-zero part)."""
    n = R.shape[0]
    G = R @ R.T if n <= R.shape[1] else R.T @ R
    return np.linalg.eigvalsh((G + G.T) / 2) / n


class SchurComplementEntropyMeasure(Measure):
    """The SCE score of a dataset, as a pipeline ``measure`` (no model needed).

    The paper scores paired (prompt, image) embeddings. On a labelled dataset the natural pairing
    is ``text="labels"``: the "prompt" of a sample is its class, embedded one-hot (the cosine
    kernel of one-hot vectors is the delta kernel ``[y_i = y_j]``), and the "image" is the
    sample's feature row ``X[i]`` under ``kernel``. Then ``A* = C_TT^+ C_TI`` is the matrix of
    class means of ``phi(x)`` and the Schur complement ``Lambda`` is the within-class (label-
    unexplained) kernel covariance: ``sce`` is the diversity the label does not explain,
    ``sce_text`` the label-explained part, ``vendi`` the same functional on all of ``C_II``
    (the Vendi score of ``X`` alone). ``text="columns"``: the last ``text_dims`` columns of ``X``
    are the paired text embedding and the rest the image embedding, scored by
    :func:`schur_complement_entropy` with the same kernel for both.

    Parameters
    ----------
    text : {"labels", "columns"}
        Where the text side comes from (the data's labels, or trailing columns of ``X``).
    text_dims : int or None
        Number of trailing text columns (``text="columns"`` only).
    kernel, sigma, rff_dim, seed, rcond
        As in :func:`schur_complement_entropy` (``rcond`` applies to ``text="columns"``; with
        labels ``C_TT`` is diagonal and its inverse exact).
    """

    needs_model: ClassVar[bool] = False

    def __init__(
        self,
        text: str = "labels",
        text_dims: int | None = None,
        kernel: str = "gaussian",
        sigma: float = 1.0,
        rff_dim: int = 2500,
        seed: int = 0,
        rcond: float | str = 1e-10,
    ) -> None:
        if text not in ("labels", "columns"):
            raise ValueError(f"text must be 'labels' or 'columns', got {text!r}")
        if text == "columns" and not (isinstance(text_dims, (int, np.integer)) and not isinstance(text_dims, bool) and text_dims >= 1):
            raise ValueError(f"text_dims must be a positive integer when text='columns', got {text_dims!r}")
        if text == "labels" and text_dims is not None:
            raise ValueError("text_dims is only used with text='columns' (the labels are the text with text='labels')")
        KernelFeatures(kernel, sigma, rff_dim, seed)  # validates kernel, sigma, rff_dim
        _check_rcond(rcond)
        self.text = text
        self.text_dims = text_dims
        self.kernel = kernel
        self.sigma = sigma
        self.rff_dim = rff_dim
        self.seed = seed
        self.rcond = rcond

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict) or "X" not in data:
            raise ValueError("data must be a dict with the samples under 'X' (and the labels under 'y' for text='labels')")
        X = np.asarray(data["X"], dtype=np.float64) if not isinstance(data["X"], np.ndarray) else data["X"].astype(np.float64)
        if X.ndim > 2:  # images (n, c, h, w) -> vectors
            X = X.reshape(len(X), -1)
        X = _as_matrix(X, "data['X']")
        n = X.shape[0]
        if self.text == "columns":
            if not self.text_dims < X.shape[1]:
                raise ValueError(f"text_dims must be smaller than the number of columns of X ({X.shape[1]}), got {self.text_dims}")
            T, Im = X[:, X.shape[1] - self.text_dims :], X[:, : X.shape[1] - self.text_dims]
            s = schur_complement_entropy(T, Im, kernel=self.kernel, sigma=self.sigma, rff_dim=self.rff_dim, seed=self.seed, rcond=self.rcond)
            FI = KernelFeatures(self.kernel, self.sigma, self.rff_dim, self.seed)(Im, "image")
            vendi = schur_entropy_from_eigenvalues(_spectrum_of_rows(FI), ref_scale=float(np.sum(FI * FI)) / n)
            return {"sce": s.image, "sce_text": s.text, "vendi": vendi, "n_samples": float(n)}
        y = data.get("y")
        if y is None:
            raise ValueError("text='labels' needs the labels: data['y'] is missing")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"data['y'] must be a 1-D array of {n} labels, got shape {y.shape}")
        FI = KernelFeatures(self.kernel, self.sigma, self.rff_dim, self.seed)(X, "data['X']")
        # one-hot text: C_TT = diag(n_c / n), A* = C_TT^{-1} C_TI = the class means of phi(x)
        classes, inv = np.unique(y, return_inverse=True)
        means = np.zeros((len(classes), FI.shape[1]))
        np.add.at(means, inv, FI)
        means /= np.bincount(inv)[:, None]
        E = means[inv]  # text-explained part of each row, Phi_T A*
        R = FI - E  # Schur residual: Lambda = R^T R / n
        ref = float(np.sum(FI * FI)) / n  # tr C_II
        return {
            "sce": schur_entropy_from_eigenvalues(_spectrum_of_rows(R), ref_scale=ref),
            "sce_text": schur_entropy_from_eigenvalues(_spectrum_of_rows(E), ref_scale=ref),
            "vendi": schur_entropy_from_eigenvalues(_spectrum_of_rows(FI), ref_scale=ref),
            "n_samples": float(n),
            "n_classes": float(len(classes)),
        }
