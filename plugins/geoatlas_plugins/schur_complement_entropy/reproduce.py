"""Scaled-down echoes of "Dissecting CLIP" (Ospanov, Jalali, Farnia 2024) without CLIP.

1. Intrinsic diversity. Synthetic "prompts" (8 prompt embeddings) and "images" = prompt + one of
   m model-induced modes + noise. At a fixed prompt set, the SCE score (model-induced diversity)
   should grow with m, while a CLIPScore-like alignment (mean cosine of image and prompt) does not
   track m, and the text-induced score stays roughly level. The paper's claim: SCE measures the
   generator's intrinsic diversity, which CLIPScore does not quantify.
2. Defocus. Digits (scikit-learn) through a frozen random projection are the "images"; the
   "text" is an embedding of the digit label. Half of the images are mirrored (a second attribute).
   After the Schur-complement defocus on the label text, a linear probe's accuracy for the digit
   label should collapse towards chance while the mirror attribute stays predictable (the paper's
   "nullify the influence of a given prompt ... focus on other properties").
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from geoatlas_plugins.schur_complement_entropy.sce import SchurDefocus, schur_complement_entropy


def diversity_experiment() -> None:
    rng = np.random.default_rng(0)
    d, n, n_prompts = 16, 600, 8
    prompts = rng.normal(size=(n_prompts, d))
    print("1) SCE vs number of model-induced modes m (8 prompts, n = 600, gaussian kernel, sigma = 4, 300 RFF)")
    print(f"{'m':>3} {'SCE (image)':>12} {'SCE (text part)':>16} {'alignment':>10}")
    for m in (1, 2, 4, 8, 16):
        r = np.random.default_rng(1)
        idx = r.integers(0, n_prompts, n)
        T = prompts[idx]
        modes = 1.5 * r.normal(size=(m, d))
        I_ = T + modes[r.integers(0, m, n)] + 0.1 * r.normal(size=(n, d))
        s = schur_complement_entropy(T, I_, kernel="gaussian", sigma=4.0, rff_dim=300, seed=0)
        align = float(np.mean(np.sum(T * I_, 1) / np.linalg.norm(T, axis=1) / np.linalg.norm(I_, axis=1)))
        print(f"{m:>3} {s.image:>12.3f} {s.text:>16.3f} {align:>10.3f}")


def defocus_experiment() -> None:
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    mirror = rng.integers(0, 2, len(X))
    imgs = X.reshape(-1, 8, 8).copy()
    imgs[mirror == 1] = imgs[mirror == 1][:, :, ::-1]
    W = rng.normal(size=(64, 48)) / 8.0
    E_img = np.tanh((imgs.reshape(-1, 64) - 8.0) / 8.0 @ W)
    E_txt = np.eye(10)[y] @ rng.normal(size=(10, 16))  # "text" = embedding of the digit label
    Z = np.hstack([E_img, E_txt])
    before = E_img / np.linalg.norm(E_img, axis=1, keepdims=True)
    after = SchurDefocus(text_dims=16, kernel="cosine").fit(Z).transform(Z)
    probe = LogisticRegression(C=1.0, max_iter=3000)
    print("\n2) Defocus on the digit-label 'text' (linear-probe accuracy, 5-fold CV; chance: digit 0.10, mirror 0.50)")
    print(f"{'embedding':>22} {'digit label':>12} {'mirror attribute':>17}")
    for name, F in (("before (normalised)", before), ("after Schur defocus", after)):
        a = cross_val_score(probe, F, y, cv=5).mean()
        b = cross_val_score(probe, F, mirror, cv=5).mean()
        print(f"{name:>22} {a:>12.3f} {b:>17.3f}")


def main() -> None:
    diversity_experiment()
    defocus_experiment()


if __name__ == "__main__":
    main()
