"""The pipeline runner's training overhead: the same model on the same data, trained by a
pipeline and by a bare torch loop; time per epoch as a ratio (pipeline / bare).

The pipeline adds per-epoch reseeding, atomic checkpoints (model, loss and optimiser state; after
the first and last epoch and every ``train.checkpoint_seconds``), a log line per epoch and the
progress bar; the bare loop has none of that. Setup (data
loading, split, model creation) is removed by subtracting a 0-epoch run from each side, and the
two sides are interleaved so load changes hit both. One torch thread.

Run: ``python benchmarks/runner_overhead.py [--epochs 20] [--repeats 5]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch

import geoatlas as ga

SPEC = """
name: overhead
seed: 0
data: {{dataset: sklearn_digits, params: {{as_images: {images}}}, split: {{test: 0.25}}}}
model: {{encoder: {encoder}, params: {params}}}
train: {{epochs: {epochs}, batch_size: 64, optimizer: adam, lr: 1.0e-3}}
plots: false
"""


def pipeline_seconds(encoder: str, params: str, images: bool, epochs: int) -> float:
    spec = SPEC.format(encoder=encoder, params=params, images=str(images).lower(), epochs=epochs)
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        ga.Pipeline.from_yaml(spec).run(runs_root=root, progress=False)
        return time.perf_counter() - t0


def bare_seconds(encoder: str, kw: dict, images: bool, epochs: int) -> float:
    from sklearn.model_selection import train_test_split

    t0 = time.perf_counter()
    bundle = ga.create("dataset", "sklearn_digits", as_images=images).load()
    X, y = np.asarray(bundle.X, dtype=np.float32), np.asarray(bundle.y)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0, stratify=y)
    Xt, yt = torch.from_numpy(X[tr]), torch.as_tensor(y[tr], dtype=torch.long)
    torch.manual_seed(0)
    shape = {"in_channels": 1} if images else {"in_features": X.shape[1]}
    model = ga.create("encoder", encoder, num_classes=10, **shape, **kw) if images else ga.create("encoder", encoder, out_features=10, **shape, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(yt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        model(torch.from_numpy(X[te]))
    return time.perf_counter() - t0


def main(epochs: int = 20, repeats: int = 5) -> list[dict[str, float]]:
    torch.set_num_threads(1)
    cases = [("mlp", "{hidden: [128, 128]}", {"hidden": [128, 128]}, False), ("cnn", "{channels: [16, 32]}", {"channels": [16, 32]}, True)]
    rows = []
    for encoder, yaml_params, kw, images in cases:  # warm-up: first-use imports (torch._dynamo via the optimiser)
        pipeline_seconds(encoder, yaml_params, images, 1)
        bare_seconds(encoder, kw, images, 1)
    for encoder, yaml_params, kw, images in cases:
        per_pipe, per_bare = [], []
        for _ in range(repeats):
            p = pipeline_seconds(encoder, yaml_params, images, epochs) - pipeline_seconds(encoder, yaml_params, images, 0)
            b = bare_seconds(encoder, kw, images, epochs) - bare_seconds(encoder, kw, images, 0)
            per_pipe.append(p / epochs)
            per_bare.append(b / epochs)
        ratios = [p / b for p, b in zip(per_pipe, per_bare, strict=False)]
        rows.append({"model": encoder, "pipeline_s_per_epoch": statistics.median(per_pipe), "bare_s_per_epoch": statistics.median(per_bare),
                     "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)})
    print(f"{'model':<6}{'pipeline s/epoch':>18}{'bare s/epoch':>14}{'ratio (median)':>16}{'ratio range':>16}")
    for r in rows:
        print(f"{r['model']:<6}{r['pipeline_s_per_epoch']:>18.4f}{r['bare_s_per_epoch']:>14.4f}{r['ratio']:>16.3f}"
              f"{r['ratio_min']:>9.3f}-{r['ratio_max']:.3f}")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    main(a.epochs, a.repeats)
