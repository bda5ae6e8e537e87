"""MLC: unsupervised manifold linearizing and clustering (Ding et al., ICCV 2023).

Maximal coding rate reduction optimised over both the representation ``Z`` and a doubly
stochastic membership ``Gamma`` (a Sinkhorn projection of the cluster head's affinities).

* :func:`sinkhorn_doubly_stochastic`, :func:`coding_rate`, :func:`membership_coding_rate`;
* loss ``mlc`` -- ``-R(Z) + gamma R_c(Z, Gamma) + (gamma_reg / 2) ||Gamma||_F^2`` (with an optional
  warm-up that maximises ``R(Z)`` alone);
* encoder ``mlc_head`` -- an MLP with the two heads (subspace features ``Z`` and cluster features
  ``C``, rows on the unit sphere), the one-shot initialisation of the cluster head from the
  subspace head after the warm-up, and the final clustering (spectral clustering of ``Gamma``);
* dataset ``union_of_curves`` -- three one-dimensional manifolds embedded in ``R^D``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import DataBundle, Dataset, Encoder, Loss
from geoatlas.validation import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Size,
    check_params,
    check_tensor,
    check_weights,
)


# ---------------------------------------------------------------------------- maths
def sinkhorn_doubly_stochastic(affinity: torch.Tensor, eta: float = 0.175, iters: int = 5) -> torch.Tensor:
    r"""Entropic projection of an ``(n, n)`` affinity ``S`` onto the doubly stochastic matrices.

    Returns :math:`\Gamma = n\, \mathrm{diag}(e^{f})\, e^{S/\eta}\, \mathrm{diag}(e^{g})` after
    ``iters`` log-domain Sinkhorn *half-steps* towards the uniform marginals :math:`1/n`,
    alternating a row normalisation (even steps, the first) and a column normalisation (odd
    steps), as the authors' ``SinkhornDistance`` (CPP code, ``max_iter`` = 5) counts them; scaled by
    ``n``. With an odd ``iters`` (5, the default) the last step is a row normalisation, so every row
    of :math:`\Gamma` sums to 1 exactly (the :math:`\mathrm{tr}\,\Gamma_i` of :math:`R_c`) and the
    columns up to the Sinkhorn residual. Converges to the solution of
    :math:`\max_\Pi \langle \Pi, S\rangle + \eta H(\Pi)` over couplings with uniform marginals.
    """
    if affinity.dim() != 2 or affinity.shape[0] != affinity.shape[1] or affinity.shape[0] == 0:
        raise ValueError(f"affinity must be a non-empty square (n, n) matrix, got shape {tuple(affinity.shape)}")
    if eta <= 0 or iters < 1:
        raise ValueError(f"eta must be > 0 and iters >= 1, got eta={eta}, iters={iters}")
    n = affinity.shape[0]
    logk = affinity / eta
    log_mu = -math.log(n)
    f = torch.zeros(n, dtype=affinity.dtype, device=affinity.device)
    g = torch.zeros_like(f)
    for i in range(iters):
        if i % 2 == 0:
            f = log_mu - torch.logsumexp(logk + g[None, :], dim=1)
        else:
            g = log_mu - torch.logsumexp(logk + f[:, None], dim=0)
    return n * torch.exp(logk + f[:, None] + g[None, :])


def coding_rate(Z: torch.Tensor, eps: float) -> torch.Tensor:
    r""":math:`R(Z) = \tfrac12 \log\det(I_d + \tfrac{d}{n\epsilon} Z^\top Z)` for ``Z`` of shape
    ``(n, d)`` (``eps`` is the squared distortion, the MLC/CPP convention)."""
    n, d = Z.shape
    eye = torch.eye(d, dtype=Z.dtype, device=Z.device)
    return 0.5 * torch.logdet(eye + (d / (n * eps)) * Z.T @ Z)


def membership_coding_rate(Z: torch.Tensor, Gamma: torch.Tensor, eps: float) -> torch.Tensor:
    r""":math:`R_c(Z, \Gamma) = \sum_{i=1}^n \frac{\mathrm{tr}\,\Gamma_i}{2n}
    \log\det\big(I_d + \frac{d}{\mathrm{tr}\,\Gamma_i\, \epsilon} Z^\top \mathrm{diag}(\Gamma_i) Z\big)`,
    with :math:`\Gamma_i` the ``i``-th row of the membership and :math:`\mathrm{tr}\,\Gamma_i` its sum.

    With hard memberships (:math:`\Gamma_{ij} = 1/n_c` when ``i`` and ``j`` share cluster ``c``)
    it is the classical MCR² compression term :math:`\sum_c \frac{n_c}{2n}\log\det(I +
    \frac{d}{n_c\epsilon} Z_c^\top Z_c)`.
    """
    n, d = Z.shape
    tr = Gamma.sum(1).clamp_min(1e-12)  # (n,); a guard only, exact for rows that sum to 1
    M = torch.einsum("ij,jd,je->ide", Gamma, Z, Z)  # Z^T diag(Gamma_i) Z, (n, d, d)
    eye = torch.eye(d, dtype=Z.dtype, device=Z.device)
    ld = torch.logdet(eye + (d / (tr * eps))[:, None, None] * M)
    return (tr * ld).sum() / (2 * n)


def hard_membership(labels: Any) -> torch.Tensor:
    """The doubly stochastic membership of a partition: ``1/n_c`` within cluster ``c``, else 0."""
    y = torch.as_tensor(np.asarray(labels)).long()
    same = (y[:, None] == y[None, :]).double()
    return same / same.sum(1, keepdim=True)


def spectral_clusters(Gamma: torch.Tensor | np.ndarray, n_clusters: int, seed: int = 0) -> np.ndarray:
    """Cluster ids from spectral clustering of the symmetrised membership (the paper's last step)."""
    from sklearn.cluster import SpectralClustering

    G = Gamma.detach().double().cpu().numpy() if isinstance(Gamma, torch.Tensor) else np.asarray(Gamma, dtype=np.float64)
    A = np.abs(0.5 * (G + G.T))
    return SpectralClustering(n_clusters=n_clusters, affinity="precomputed", random_state=seed,
                              assign_labels="kmeans").fit_predict(A)


def _check_eps(eps: float) -> None:
    if not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps}")


# ---------------------------------------------------------------------------- loss
class MLCLoss(Loss):
    r"""The MLC objective (minimised):

    .. math:: -R(Z) + \gamma\, R_c(Z, \Gamma) + \tfrac{\gamma_\Gamma}{2}\|\Gamma\|_F^2,
       \qquad \Gamma = n\,\mathrm{Sinkhorn}_\eta(|C C^\top|)

    ``outputs`` is a dict ``{"z": (n, d), "c": (n, d')}`` (what ``mlc_head`` returns in training
    mode) or a pair ``(Z, C)``; rows are L2-normalised here as well. During the first
    ``warmup_epochs`` epochs (read from ``batch["epoch"]``) the loss is ``-R(Z)`` alone.

    Parameters
    ----------
    eps : float
        Squared distortion :math:`\epsilon` (0.1 in the authors' code).
    gamma : float
        Weight :math:`\gamma` of the compression term (1).
    gamma_reg : float
        :math:`\gamma_\Gamma`, weight of the Frobenius penalty on the membership (0.05).
    eta : float
        Entropic regularisation of the Sinkhorn projection (0.175).
    sinkhorn_iters : int
        Sinkhorn half-steps (5; row first, as the authors count them).
    warmup_epochs : int
        Epochs of total-coding-rate warm-up (0: none).
    """

    requires = ()
    batch_size_independent = False  # log-determinants of n-sample statistics

    def __init__(
        self,
        eps: PositiveFloat = 0.1,
        gamma: NonNegativeFloat = 1.0,
        gamma_reg: NonNegativeFloat = 0.05,
        eta: PositiveFloat = 0.175,
        sinkhorn_iters: PositiveInt = 5,
        warmup_epochs: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        check_params(type(self), eps=eps, gamma=gamma, gamma_reg=gamma_reg, eta=eta,
                     sinkhorn_iters=sinkhorn_iters, warmup_epochs=warmup_epochs)
        self.eps, self.gamma, self.gamma_reg = float(eps), float(gamma), float(gamma_reg)
        self.eta, self.sinkhorn_iters, self.warmup_epochs = float(eta), int(sinkhorn_iters), int(warmup_epochs)
        self.last: dict[str, float] = {}

    @staticmethod
    def split_outputs(outputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(outputs, dict):
            if "z" not in outputs or "c" not in outputs:
                raise TypeError(f"mlc: outputs must have keys 'z' and 'c', got {sorted(outputs)}")
            Z, C = outputs["z"], outputs["c"]
        elif isinstance(outputs, (list, tuple)) and len(outputs) == 2 and all(isinstance(t, torch.Tensor) for t in outputs):
            Z, C = outputs
        else:
            raise TypeError(
                "mlc takes the subspace and cluster features: a dict {'z': (n, d), 'c': (n, d')} (an mlc_head "
                f"in training mode) or a pair (Z, C), got {type(outputs).__name__}"
            )
        for name, t in (("z", Z), ("c", C)):
            check_tensor(t, f"mlc: {name}", floating=True)
            if t.dim() != 2:
                raise ValueError(f"mlc: {name} must have shape (n, d), got {tuple(t.shape)}")
        if Z.shape[0] != C.shape[0]:
            raise ValueError(f"mlc: z and c must have the same number of rows, got {Z.shape[0]} and {C.shape[0]}")
        if Z.shape[0] < 2:
            raise ValueError(f"mlc needs at least 2 samples per batch, got {Z.shape[0]}")
        return F.normalize(Z, dim=1), F.normalize(C, dim=1)

    def membership(self, C: torch.Tensor) -> torch.Tensor:
        """``Gamma = n * Sinkhorn(|C C^T|)`` of (normalised) cluster features."""
        return sinkhorn_doubly_stochastic((C @ C.T).abs(), self.eta, self.sinkhorn_iters)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        Z, C = self.split_outputs(outputs)
        R = coding_rate(Z, self.eps)
        if int(batch.get("epoch", self.warmup_epochs)) < self.warmup_epochs:
            self.last = {"R": float(R.detach())}
            return -R
        Gamma = self.membership(C)
        Rc = membership_coding_rate(Z, Gamma, self.eps)
        reg = 0.5 * self.gamma_reg * Gamma.pow(2).sum()
        self.last = {"R": float(R.detach()), "Rc": float(Rc.detach()), "reg": float(reg.detach())}
        return -R + self.gamma * Rc + reg

    def extra_repr(self) -> str:
        return (f"eps={self.eps}, gamma={self.gamma}, gamma_reg={self.gamma_reg}, eta={self.eta}, "
                f"sinkhorn_iters={self.sinkhorn_iters}, warmup_epochs={self.warmup_epochs}")


# ---------------------------------------------------------------------------- encoder
class MLCHead(Encoder):
    r"""MLP with MLC's two heads, and its clustering.

    ``x -> h = MLP(x)``; subspace features :math:`z = \mathrm{normalize}(W_z h)`, cluster features
    :math:`c = \mathrm{normalize}(W_c h)`. In training mode ``forward`` returns ``{"z", "c"}`` (for
    the ``mlc`` loss) and remembers the last ``bank_size`` training samples' ``(z, c)``. After
    ``warmup_epochs`` epochs (``on_epoch_end``) the cluster head is initialised from the subspace
    head (the one-shot initialisation: :math:`W_c \leftarrow W_z`).

    In evaluation mode ``forward`` returns cluster scores ``(n, num_classes)``: the bank is
    clustered once by spectral clustering of its membership :math:`\Gamma` (the paper's final
    step); each cluster's features span a subspace (its top ``subspace_dim`` right singular
    vectors), and a sample scores :math:`\|U_k^\top z\|^2` against subspace ``k`` (nearest
    subspace, the out-of-sample rule of a union-of-subspaces representation).

    Parameters
    ----------
    in_features : int
        Input size.
    num_classes : int
        Number of clusters.
    hidden : list of int
        Hidden widths of the MLP (ReLU, batch norm).
    z_dim, c_dim : int
        Sizes of the subspace and cluster features (equal for the one-shot initialisation).
    subspace_dim : int or None
        Dimension of each cluster's subspace for the out-of-sample rule (default ``z_dim // num_classes``, at least 1).
    eta, sinkhorn_iters : float, int
        Sinkhorn settings of the membership used for the final spectral clustering (as the loss's).
    warmup_epochs : int
        Epochs after which the cluster head is initialised from the subspace head (0: never).
    bank_size : int
        Training samples remembered for the final clustering.
    """

    input_type = "vector"

    def __init__(
        self,
        in_features: Size,
        num_classes: Size,
        hidden: list[Size] | None = None,
        z_dim: Size = 32,
        c_dim: Size = 32,
        subspace_dim: PositiveInt | None = None,
        eta: PositiveFloat = 0.175,
        sinkhorn_iters: PositiveInt = 5,
        warmup_epochs: NonNegativeInt = 0,
        bank_size: Size = 2000,
        seed: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        hidden = [256, 256] if hidden is None else list(hidden)
        if warmup_epochs > 0 and z_dim != c_dim:
            raise ValueError(f"mlc_head: the one-shot initialisation (warmup_epochs > 0) needs z_dim == c_dim, got {z_dim} and {c_dim}")
        if subspace_dim is not None and subspace_dim > z_dim:
            raise ValueError(f"mlc_head: parameter 'subspace_dim' ({subspace_dim}) exceeds z_dim ({z_dim})")
        widths = [in_features, *hidden]
        check_weights("mlc_head", *[(a, b) for a, b in zip(widths[:-1], widths[1:], strict=False)], (widths[-1], z_dim), (widths[-1], c_dim))
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=False):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
        self.backbone = nn.Sequential(*layers)
        self.subspace = nn.Linear(widths[-1], z_dim)
        self.cluster = nn.Linear(widths[-1], c_dim)
        self.in_features, self.num_classes = in_features, num_classes
        self.subspace_dim = subspace_dim or max(1, z_dim // num_classes)
        self.eta, self.sinkhorn_iters, self.warmup_epochs = float(eta), sinkhorn_iters, warmup_epochs
        self.bank_size, self.seed = bank_size, seed
        self._bank_z: list[torch.Tensor] = []
        self._bank_c: list[torch.Tensor] = []
        self.register_buffer("bases", torch.zeros(num_classes, z_dim, self.subspace_dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised subspace and cluster features ``(z, c)``."""
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"mlc_head expects vectors (n, {self.in_features}), got shape {tuple(x.shape)}")
        h = self.backbone(x)
        return F.normalize(self.subspace(h), dim=1), F.normalize(self.cluster(h), dim=1)

    def forward(self, x: torch.Tensor) -> Any:
        z, c = self.features(x)
        if self.training:
            self._remember(z.detach(), c.detach())
            return {"z": z, "c": c}
        if not bool(self.fitted):
            self.fit_clusters()
        if not bool(self.fitted):  # never trained: cluster this batch itself
            self.fit_clusters(z, c)
        return (torch.einsum("nd,kdr->nkr", z, self.bases) ** 2).sum(-1)

    def _remember(self, z: torch.Tensor, c: torch.Tensor) -> None:
        self._bank_z.append(z)
        self._bank_c.append(c)
        while sum(len(t) for t in self._bank_z) - len(self._bank_z[0]) >= self.bank_size:
            self._bank_z.pop(0)
            self._bank_c.pop(0)
        self.fitted.fill_(False)

    @torch.no_grad()
    def membership(self, c: torch.Tensor) -> torch.Tensor:
        return sinkhorn_doubly_stochastic((c @ c.T).abs(), self.eta, self.sinkhorn_iters)

    @torch.no_grad()
    def fit_clusters(self, z: torch.Tensor | None = None, c: torch.Tensor | None = None) -> np.ndarray | None:
        """Spectral clustering of the membership of the remembered (or given) features, then
        each cluster's subspace. Returns the cluster ids of those samples."""
        if z is None:
            if not self._bank_z:
                return None
            z, c = torch.cat(self._bank_z)[-self.bank_size:], torch.cat(self._bank_c)[-self.bank_size:]
        assert c is not None
        if len(z) < self.num_classes:
            raise ValueError(f"mlc_head: {len(z)} samples cannot be split into {self.num_classes} clusters")
        labels = spectral_clusters(self.membership(c.double()), self.num_classes, self.seed)
        bases = torch.zeros_like(self.bases)
        for k in range(self.num_classes):
            zk = z[torch.as_tensor(labels == k)]
            if len(zk) == 0:
                continue
            _, _, vh = torch.linalg.svd(zk.double(), full_matrices=False)
            r = min(self.subspace_dim, vh.shape[0])
            bases[k, :, :r] = vh[:r].T.to(bases.dtype)
        self.bases.copy_(bases)
        self.fitted.fill_(True)
        return labels

    @torch.no_grad()
    def init_cluster_head_from_subspace(self) -> None:
        """The one-shot initialisation: the cluster head becomes a copy of the subspace head."""
        self.cluster.weight.copy_(self.subspace.weight)
        self.cluster.bias.copy_(self.subspace.bias)

    def on_epoch_end(self, epoch: int) -> None:
        if self.warmup_epochs > 0 and epoch + 1 == self.warmup_epochs:
            self.init_cluster_head_from_subspace()


# ---------------------------------------------------------------------------- dataset
class UnionOfCurves(Dataset):
    r"""Three one-dimensional manifolds (a circle, a sine curve, a helix), each in its own random
    3-dimensional subspace of :math:`\mathbb{R}^D` (random orthogonal embeddings), plus Gaussian
    noise; class = curve. The synthetic benchmark suggested for MLC at CPU scale.

    Parameters
    ----------
    n_per_curve : int
        Samples per curve.
    ambient_dim : int
        :math:`D` (at least 3).
    noise : float
        Standard deviation of the isotropic noise.
    seed : int
        Seed of the sampling and of the embeddings.
    """

    data_type = "vector"
    task = "classification"

    def __init__(self, n_per_curve: Size = 600, ambient_dim: Size = 50, noise: NonNegativeFloat = 0.05, seed: NonNegativeInt = 0) -> None:
        if ambient_dim < 3:
            raise ValueError(f"union_of_curves: parameter 'ambient_dim' must be >= 3, got {ambient_dim}")
        self.n_per_curve, self.ambient_dim, self.noise, self.seed = n_per_curve, ambient_dim, float(noise), seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        n, D = self.n_per_curve, self.ambient_dim
        t = rng.uniform(0, 2 * np.pi, size=(3, n))
        curves = [
            np.stack([np.cos(t[0]), np.sin(t[0]), np.zeros(n)], 1),
            np.stack([t[1] / np.pi - 1.0, np.sin(2 * t[1]), np.zeros(n)], 1),
            np.stack([np.cos(2 * t[2]), np.sin(2 * t[2]), t[2] / np.pi - 1.0], 1),
        ]
        X, y = [], []
        for k, pts in enumerate(curves):
            Q, _ = np.linalg.qr(rng.standard_normal((D, 3)))
            X.append(pts @ Q.T)
            y.append(np.full(n, k))
        Xa = np.concatenate(X) + self.noise * rng.standard_normal((3 * n, D))
        return DataBundle(Xa.astype(np.float32), np.concatenate(y).astype(np.int64), "vector", "classification",
                          {"n_classes": 3, "source": "generated: circle, sine, helix in random 3-d subspaces"})
