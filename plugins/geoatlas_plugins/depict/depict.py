"""DEPICT: deep clustering via a convolutional autoencoder and relative-entropy minimisation
(Ghasedi Dizaji et al., ICCV 2017).

* encoder ``depict`` -- a denoising convolutional autoencoder (noisy and clean pathways sharing
  their weights) with a softmax clustering head on the embedding; its head is initialised from
  agglomerative clustering of the embeddings after the autoencoder pre-training;
* loss ``depict_loss`` -- the layer-wise reconstruction loss, and after the pre-training the
  cross-entropy between auxiliary targets ``Q`` and the noisy predictions, ``Q`` recomputed after
  every epoch from the predictions of the whole training set with the balanced target (the
  paper's square-root target, or the authors' code's square target);
* :func:`depict_target`, :func:`depict_objective` -- the target and the objective it minimises.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder, Loss
from geoatlas.validation import (
    Dropout,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    Size,
    check_params,
    check_tensor,
    check_weights,
)


# ---------------------------------------------------------------------------- target
def depict_target(P: torch.Tensor, kind: str = "sqrt") -> torch.Tensor:
    r"""Auxiliary target of DEPICT from predictions ``P`` ``(n, K)`` (rows on the simplex).

    ``"sqrt"`` (the paper's): :math:`q_{ik} \propto p_{ik} / (\sum_{i'} p_{i'k})^{1/2}`, the
    paper's closed form for the minimiser of :func:`depict_objective`; it is exact only when the
    row normalisers are equal (the exact minimiser is the fixed point :math:`q_{ik} \propto
    p_{ik}/f_k(Q)`, see the tests). ``"square"`` (the authors' code's run path, as in DEC):
    :math:`q_{ik} \propto p_{ik}^2 / \sum_{i'} p_{i'k}`. Rows are normalised over ``k``.
    """
    if P.dim() != 2 or P.shape[0] == 0:
        raise ValueError(f"P must be a non-empty (n, K) matrix, got shape {tuple(P.shape)}")
    f = P.sum(0, keepdim=True).clamp_min(1e-12)
    if kind == "sqrt":
        q = P / f.sqrt()
    elif kind == "square":
        q = P.pow(2) / f
    else:
        raise ValueError(f"target kind must be 'sqrt' or 'square', got {kind!r}")
    return q / q.sum(1, keepdim=True).clamp_min(1e-300)


def depict_objective(Q: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    r""":math:`\frac1N\sum_i \mathrm{KL}(Q_i \| P_i) + \mathrm{KL}(f \| u)`, with :math:`f_k = \frac1N\sum_i q_{ik}`
    the empirical cluster frequencies of ``Q`` and :math:`u` uniform (the paper's Eq. for the targets)."""
    n, k = Q.shape
    kl_rows = (torch.special.xlogy(Q, Q) - Q * torch.log(P.clamp_min(1e-300))).sum(1).mean()
    f = Q.mean(0)
    kl_f = (torch.special.xlogy(f, f) + f * np.log(k)).sum()
    return kl_rows + kl_f


# ---------------------------------------------------------------------------- encoder
class DEPICTEncoder(Encoder):
    r"""Denoising convolutional autoencoder with a softmax clustering head (DEPICT).

    Noisy encoder: dropout on the input -> [conv (stride 2) -> LeakyReLU(0.01) -> dropout] per
    stage -> dense -> tanh (the embedding :math:`z`, ``embed_dim``); the clean encoder uses the same
    weights without dropout. The decoder mirrors it (dense -> transposed convs), tanh output.
    Head: :math:`p = \mathrm{softmax}(\theta^\top z + b)`.

    Training mode returns a dict for ``depict_loss``: noisy logits, clean probabilities (no
    gradient), the reconstruction of the input and of every clean hidden layer from the noisy
    pathway, and the clean targets. Evaluation mode returns the clean logits ``(n, K)``.

    After ``pretrain_epochs`` epochs (``on_epoch_end``) the head is initialised from Ward
    agglomerative clustering of the clean embeddings of that epoch's training samples:
    :math:`\theta` = the L2-normalised cluster centroids, :math:`b = 0`.

    Parameters
    ----------
    in_channels, image_size : int
        Input channels and (square) side of the images.
    num_classes : int
        Number of clusters :math:`K`.
    channels : list of int
        Conv widths (paper: ``[50, 50]``).
    kernel : int
        Conv kernel size (paper: 5; odd).
    embed_dim : int
        Embedding size (paper: 10).
    dropout : float
        Dropout rate of the noisy pathway (paper: 0.1 on the input and after the first conv).
    pretrain_epochs : int
        Autoencoder-only epochs before the head is initialised (0: the head keeps its random init).
    """

    input_type = "image"

    def __init__(
        self,
        in_channels: Size,
        num_classes: Size,
        image_size: Size = 8,
        channels: list[Size] | None = None,
        kernel: PositiveInt = 5,
        embed_dim: Size = 10,
        dropout: Dropout = 0.1,
        pretrain_epochs: NonNegativeInt = 0,
        seed: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        channels = [50, 50] if channels is None else list(channels)
        if not channels:
            raise ValueError("depict: parameter 'channels' must name at least one stage")
        if kernel % 2 == 0:
            raise ValueError(f"depict: parameter 'kernel' must be odd, got {kernel}")
        sizes = [image_size]
        for _ in channels:
            sizes.append((sizes[-1] + 1) // 2)
        cs = [in_channels, *channels]
        check_weights("depict", *[(a, b, kernel, kernel) for a, b in zip(cs[:-1], cs[1:], strict=True)],
                      (channels[-1] * sizes[-1] ** 2, embed_dim))
        pad = kernel // 2
        self.convs = nn.ModuleList(nn.Conv2d(a, b, kernel, stride=2, padding=pad) for a, b in zip(cs[:-1], cs[1:], strict=True))
        flat = channels[-1] * sizes[-1] ** 2
        self.to_z = nn.Linear(flat, embed_dim)
        self.from_z = nn.Linear(embed_dim, flat)
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(b, a, kernel, stride=2, padding=pad, output_padding=(sizes[i] - 1) % 2)
            for i, (a, b) in reversed(list(enumerate(zip(cs[:-1], cs[1:], strict=True))))
        )
        self.head = nn.Linear(embed_dim, num_classes)
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes
        self.channels, self.sizes, self.embed_dim = channels, sizes, embed_dim
        self.dropout, self.pretrain_epochs, self.seed = float(dropout), pretrain_epochs, seed
        self._bank: list[torch.Tensor] = []

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"depict expects images (N, {self.in_channels}, {self.image_size}, {self.image_size}), got shape {tuple(x.shape)}")

    def encode(self, x: torch.Tensor, noisy: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Embedding and hidden maps of the noisy (dropout) or clean pathway."""
        h = F.dropout(x, self.dropout, training=noisy)
        hidden = []
        for i, conv in enumerate(self.convs):
            h = F.leaky_relu(conv(h), 0.01)
            hidden.append(h)
            if i == 0:  # paper: dropout 0.1 after the first conv, 0 after the second
                h = F.dropout(h, self.dropout, training=noisy)
        z = torch.tanh(self.to_z(h.flatten(1)))
        return z, hidden

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Reconstruction of the input and of the hidden maps (deepest first reversed to encoder order)."""
        h = F.leaky_relu(self.from_z(z), 0.01).view(len(z), self.channels[-1], self.sizes[-1], self.sizes[-1])
        recon_hidden = [h]
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            h = torch.tanh(h) if i == len(self.deconvs) - 1 else F.leaky_relu(h, 0.01)
            recon_hidden.append(h)
        x_hat = recon_hidden.pop()
        return x_hat, recon_hidden[::-1]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return self.encode(x, noisy=False)[0]

    def forward(self, x: torch.Tensor) -> Any:
        self._check(x)
        z_clean, hid_clean = self.encode(x, noisy=False)
        if not self.training:
            return self.head(z_clean)
        z_noisy, _ = self.encode(x, noisy=True)
        x_hat, hid_hat = self.decode(z_noisy)
        self._bank.append(z_clean.detach())
        return {
            "logits": self.head(z_noisy),
            "clean_probs": F.softmax(self.head(z_clean), dim=1).detach(),
            "recon": x_hat,
            "input": x,
            "hidden_recon": hid_hat,
            "hidden_clean": [h.detach() for h in hid_clean],
        }

    @torch.no_grad()
    def init_head(self, z: torch.Tensor) -> np.ndarray:
        """Ward agglomerative clustering of embeddings ``z``; the head becomes the normalised centroids."""
        from sklearn.cluster import AgglomerativeClustering

        zn = z.detach().double().numpy()
        labels = AgglomerativeClustering(n_clusters=self.num_classes, linkage="ward").fit_predict(zn)
        cent = np.stack([zn[labels == k].mean(0) for k in range(self.num_classes)])
        cent = cent / np.linalg.norm(cent, axis=1, keepdims=True).clip(1e-12)
        self.head.weight.copy_(torch.as_tensor(cent, dtype=self.head.weight.dtype))
        self.head.bias.zero_()
        return labels

    def on_epoch_end(self, epoch: int) -> None:
        if self.pretrain_epochs > 0 and epoch + 1 == self.pretrain_epochs and self._bank:
            self.init_head(torch.cat(self._bank))
        self._bank = []


# ---------------------------------------------------------------------------- loss
class DEPICTLoss(Loss):
    r"""DEPICT's objective for a ``depict`` encoder in training mode.

    .. math:: \mathcal L = -\frac1N\sum_i\sum_k q_{ik}\log\tilde p_{ik}
       \;+\; \lambda_{\mathrm{rec}}\Big(\|\hat x - x\|^2 + w\sum_l \|\hat h_l - h_l^{\mathrm{clean}}\|^2\Big)

    (squared errors averaged over elements), with :math:`\tilde p` the noisy predictions and
    :math:`Q` the auxiliary target of :func:`depict_target` computed after every epoch from the
    predictions of the whole training set (``target_from``: ``"clean"`` predictions, the paper's
    description, or the ``"noisy"`` predictions accumulated over the epoch's batches, the authors'
    code). Targets are indexed by ``batch["index"]``; in the first clustering epoch (no epoch
    finished yet) the target comes from the batch's own clean predictions. During the first
    ``pretrain_epochs`` epochs the loss is the reconstruction term alone.

    Parameters
    ----------
    target : {"sqrt", "square"}
        The paper's balanced target (sqrt) or the code's (square).
    target_from : {"clean", "noisy"}
        Which predictions give the next epoch's targets.
    lambda_rec : float
        Weight of the reconstruction loss (1).
    hidden_weight : float
        Weight of the hidden-layer reconstruction terms (0.1).
    pretrain_epochs : int
        Autoencoder-only epochs (match the encoder's).
    """

    requires = ("index", "epoch")
    batch_size_independent = True

    def __init__(
        self,
        target: Literal["sqrt", "square"] = "sqrt",
        target_from: Literal["clean", "noisy"] = "clean",
        lambda_rec: NonNegativeFloat = 1.0,
        hidden_weight: NonNegativeFloat = 0.1,
        pretrain_epochs: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        check_params(type(self), target=target, target_from=target_from, lambda_rec=lambda_rec,
                     hidden_weight=hidden_weight, pretrain_epochs=pretrain_epochs)
        self.target, self.target_from = target, target_from
        self.lambda_rec, self.hidden_weight, self.pretrain_epochs = float(lambda_rec), float(hidden_weight), pretrain_epochs
        self.register_buffer("Q", torch.zeros(0, 0))
        self.register_buffer("P_acc", torch.zeros(0, 0))
        self.last_q_change: float | None = None

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        for name in ("Q", "P_acc"):  # sized by the data: take the checkpoint's shape
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def reconstruction(self, out: dict[str, Any]) -> torch.Tensor:
        rec = F.mse_loss(out["recon"], out["input"])
        for h_hat, h in zip(out["hidden_recon"], out["hidden_clean"], strict=True):
            rec = rec + self.hidden_weight * F.mse_loss(h_hat, h)
        return rec

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        keys = ("logits", "clean_probs", "recon", "input", "hidden_recon", "hidden_clean")
        if not isinstance(outputs, dict) or any(k not in outputs for k in keys):
            raise TypeError(f"depict_loss takes the training-mode output of a depict encoder (a dict with {', '.join(keys)}), got {type(outputs).__name__}")
        logits = outputs["logits"]
        check_tensor(logits, "depict_loss: logits", floating=True)
        rec = self.reconstruction(outputs)
        epoch = int(batch.get("epoch", self.pretrain_epochs))
        if epoch < self.pretrain_epochs:
            return self.lambda_rec * rec
        if "index" not in batch:
            raise ValueError("depict_loss needs batch['index'] (sample positions) to keep the per-sample targets")
        idx = torch.as_tensor(batch["index"]).long()
        n_need, k = int(idx.max()) + 1, logits.shape[1]
        if self.P_acc.shape[0] < n_need or self.P_acc.shape[1] != k:
            grown = torch.zeros(max(n_need, self.P_acc.shape[0]), k)
            if self.P_acc.shape[1] == k:
                grown[: self.P_acc.shape[0]] = self.P_acc
            self.P_acc = grown
        log_p = F.log_softmax(logits, dim=1)
        src = outputs["clean_probs"] if self.target_from == "clean" else log_p.exp().detach()
        self.P_acc[idx] = src.float()
        if self.Q.shape[0] > int(idx.max()) and self.Q.shape[1] == k:
            q = self.Q[idx].to(logits.dtype)
        else:
            q = depict_target(outputs["clean_probs"].double(), self.target).to(logits.dtype)
        clus = -(q * log_p).sum(1).mean()
        return clus + self.lambda_rec * rec

    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        if epoch + 1 <= self.pretrain_epochs or self.P_acc.numel() == 0:
            return
        seen = self.P_acc.sum(1) > 0
        new = torch.zeros_like(self.P_acc)
        new[seen] = depict_target(self.P_acc[seen].double(), self.target).float()
        if self.Q.shape == new.shape:
            self.last_q_change = float((new - self.Q).pow(2).mean())
        self.Q = new
