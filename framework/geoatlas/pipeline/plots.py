"""Plots written into a run directory (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(histories: dict[str, list[dict[str, float]]], path: Path) -> Path | None:
    """Training loss per epoch for every model (left axis) and, where recorded, the held-out
    metric watched during training (right axis, dashed, same colour)."""
    histories = {k: v for k, v in histories.items() if v}
    if not histories:
        return None
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 3.8))
    watched = sorted({k for hist in histories.values() for h in hist for k in h if k not in ("epoch", "train_loss")})
    ax2 = ax.twinx() if watched else None
    for i, (label, hist) in enumerate(histories.items()):
        colour = f"C{i % 10}"
        ep = [h["epoch"] for h in hist]
        ax.plot(ep, [h["train_loss"] for h in hist], marker="o", ms=3, color=colour, label=f"{label} (training loss)")
        if ax2 is not None:
            key = watched[0]
            pts = [(h["epoch"], h[key]) for h in hist if key in h]
            if pts:
                ax2.plot(*zip(*pts, strict=True), ls="--", marker="s", ms=3, color=colour, label=f"{label} ({key})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if all(h["train_loss"] > 0 for hist in histories.values() for h in hist):
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    if ax2 is not None:
        ax2.set_ylabel(f"{watched[0]} (held-out, watched only)")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.set_title("training curves")
    ax.legend(handles, labels, fontsize=7, loc="best")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def _pca2(Z: np.ndarray) -> np.ndarray:
    Zc = Z - Z.mean(0)
    _, _, vt = np.linalg.svd(Zc, full_matrices=False)
    return Zc @ vt[:2].T


def embeddings(Z: np.ndarray, y: np.ndarray | None, path: Path, title: str, ball_c: float | None = None) -> Path:
    """Scatter of embeddings. On the Poincaré ball (``ball_c``): points in the disk of radius
    ``1/sqrt(c)``; balls of dimension > 2 are shown through ``exp_0 . PCA . log_0``, which keeps
    distances to the origin."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    if ball_c is not None:
        import torch
        from geoopt import PoincareBall

        ball = PoincareBall(c=ball_c)
        Zt = torch.as_tensor(Z, dtype=torch.float64)
        if Z.shape[1] > 2:
            V = ball.logmap0(Zt).numpy()
            V2 = _pca2(V) if len(V) > 2 else V[:, :2]
            scale = np.linalg.norm(V, axis=1, keepdims=True) / np.maximum(np.linalg.norm(V2, axis=1, keepdims=True), 1e-12)
            P = ball.expmap0(torch.as_tensor(V2 * scale)).numpy()
        else:
            P = Z
        r = 1 / np.sqrt(ball_c)
        ax.add_patch(plt.Circle((0, 0), r, fill=False, color="k", lw=1))
        ax.set_xlim(-1.05 * r, 1.05 * r)
        ax.set_ylim(-1.05 * r, 1.05 * r)
        ax.set_aspect("equal")
        how = "Poincaré disk" + (" (exp₀ ∘ PCA ∘ log₀, norms kept)" if Z.shape[1] > 2 else "")
    else:
        P = _pca2(Z) if Z.shape[1] > 2 else Z
        how = "first two principal components" if Z.shape[1] > 2 else "the two coordinates"
    if y is not None and len(np.unique(y)) <= 20:
        for i, cls in enumerate(np.unique(y)):
            sel = np.asarray(y) == cls
            ax.scatter(P[sel, 0], P[sel, 1], s=8, color=f"C{i % 10}", label=str(cls))
        ax.legend(title="class", fontsize=7, title_fontsize=7, markerscale=1.5, loc="upper right", framealpha=0.7)
    else:
        ax.scatter(P[:, 0], P[:, 1], c=y if y is not None else None, s=8, cmap="viridis")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(f"test embeddings: {how}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def _save(fig: Any, path: Path) -> None:
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def perturbation_bars(models: dict[str, dict[str, Any]], metric: str, path: Path) -> Path | None:
    """One bar per model and condition (clean test data, each perturbation) for ``metric``."""
    rows = {label: res for label, res in models.items() if metric in res and res.get("perturbations")}
    if not rows:
        return None
    conditions = ["clean"] + sorted({p for res in rows.values() for p in res["perturbations"]})
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(rows) * len(conditions) / 2, 3.5))
    width = 0.8 / len(conditions)
    for j, cond in enumerate(conditions):
        vals = [res[metric] if cond == "clean" else res["perturbations"].get(cond, {}).get(metric, np.nan) for res in rows.values()]
        xs = np.arange(len(rows)) + (j - (len(conditions) - 1) / 2) * width
        bars = ax.bar(xs, vals, width, label=cond if cond == "clean" else f"test data {cond}")
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(np.arange(len(rows)), list(rows), fontsize=8)
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
