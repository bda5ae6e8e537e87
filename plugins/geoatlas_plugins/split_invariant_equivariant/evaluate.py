"""Linear-probe evaluation of split representations (class from each part, rotation from pairs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


@torch.no_grad()
def split_representations(model: Any, x: torch.Tensor, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(r_inv, r_equi)`` of images ``x`` in eval mode, as numpy arrays."""
    was = model.training
    model.eval()
    try:
        inv, equi = [], []
        for i in range(0, len(x), batch_size):
            a, b = model.representation(x[i : i + batch_size])
            inv.append(a.numpy())
            equi.append(b.numpy())
    finally:
        model.train(was)
    return np.concatenate(inv), np.concatenate(equi)


def probe_split(model: Any, x_train: torch.Tensor, y_train: np.ndarray, x_test: torch.Tensor, y_test: np.ndarray,
                pairs_train: tuple[torch.Tensor, torch.Tensor, np.ndarray], pairs_test: tuple[torch.Tensor, torch.Tensor, np.ndarray],
                seed: int = 0) -> dict[str, float]:
    """Paper-style evaluation at small scale.

    * class accuracy of a logistic-regression probe on ``r_inv``, ``r_equi`` and ``r``;
    * R^2 of predicting the relative rotation ``(cos d, sin d)`` of a pair of views from the
      concatenated representations of both views (an MLP probe, as the paper's evaluator), for
      each part.

    ``pairs_*`` are ``(view1, view2, delta)`` with ``delta`` the rotation angle from view 1 to view 2.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import r2_score
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict[str, float] = {}
    tr_inv, tr_eq = split_representations(model, x_train)
    te_inv, te_eq = split_representations(model, x_test)
    for name, a, b in (("inv", tr_inv, te_inv), ("equi", tr_eq, te_eq), ("full", np.hstack([tr_inv, tr_eq]), np.hstack([te_inv, te_eq]))):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(a, y_train)
        out[f"class_acc_{name}"] = float(clf.score(b, y_test))
    reps = {}
    for split, (v1, v2, delta) in (("train", pairs_train), ("test", pairs_test)):
        i1, e1 = split_representations(model, v1)
        i2, e2 = split_representations(model, v2)
        target = np.stack([np.cos(delta), np.sin(delta)], 1)
        reps[split] = {"inv": np.hstack([i1, i2]), "equi": np.hstack([e1, e2]), "target": target}
    for name in ("inv", "equi"):
        reg = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(128, 128), max_iter=500, random_state=seed, early_stopping=True))
        reg.fit(reps["train"][name], reps["train"]["target"])
        out[f"rotation_r2_{name}"] = float(r2_score(reps["test"]["target"], reg.predict(reps["test"][name])))
    return out
