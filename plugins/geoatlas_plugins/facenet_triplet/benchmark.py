"""Time of the triplet loss (semi-hard mining + loss, forward and backward) against
pytorch-metric-learning's TripletMarginMiner(semihard) + TripletMarginLoss with the same squared
distance, on the same batches. Prints the median ratio ours / PML.

Run: ``python plugins/geoatlas_plugins/facenet_triplet/benchmark.py [--repeats 20]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import geoatlas as ga


def main() -> None:
    from pytorch_metric_learning import distances, losses, miners

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    dist = distances.LpDistance(normalize_embeddings=True, p=2, power=2)
    miner = miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard", distance=dist)
    ref = losses.TripletMarginLoss(margin=0.2, distance=dist)
    ours = ga.create("loss", "triplet")
    print(f"load average {os.getloadavg()[0]:.1f}; one thread")
    for b, d, k in [(64, 16, 8), (128, 64, 16), (256, 128, 32)]:
        g = torch.Generator().manual_seed(0)
        y = torch.arange(b) % k
        base = torch.randn(b, d, generator=g) + 1.5 * torch.randn(k, d, generator=g)[y]
        times: dict[str, list[float]] = {"ours": [], "pml": []}
        for _ in range(args.repeats):
            for name in ("ours", "pml"):
                z = base.clone().requires_grad_(True)
                t0 = time.perf_counter()
                v = ours(z, {"y": y}) if name == "ours" else ref(z, y, miner(z, y))
                v.backward()
                times[name].append(time.perf_counter() - t0)
        mo, mp = statistics.median(times["ours"]), statistics.median(times["pml"])
        print(f"B={b:4d} D={d:4d} classes={k:3d}: ours {1e3 * mo:7.2f} ms  PML {1e3 * mp:7.2f} ms  ratio {mo / mp:.2f}")


if __name__ == "__main__":
    main()
