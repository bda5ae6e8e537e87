"""Scaled-down echo of "Experimental Analysis of Large-scale Learnable Vector Storage Compression"
(Zhang et al., VLDB 2024), through this plugin's ``embedding_compression_benchmark`` measure.

Synthetic click-through table (``synthetic_ctr``: 40 000 rows, 8 Zipf(1.1) fields of 500 values,
so N = 4000 ids; fields 0-3 informative, 4-7 noise, a planted 0-1 interaction); embedding
dimension 16 (full table 64 000 parameters); MLP 64-32; Adam lr 3e-3, batch 256, 2 epochs (the
measure's defaults); the six methods at memory budgets rate = 0.25, 0.1, 0.04 (compression 4x,
10x, 25x) beside the uncompressed table; two seeds (data, split, initialisation, hashes). About
three minutes on one CPU thread. Writes ``results.json`` beside this file.

Run: ``python plugins/geoatlas_plugins/embedding_compression/reproduce.py [--scale K]``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import geoatlas as ga
from geoatlas.echo import Reproduction

HASHING = ("hash_trick_embedding", "qr_embedding", "robe_embedding")
OTHERS = ("mixed_dim_embedding", "tt_rec_embedding", "pruned_embedding")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1, help="multiplies the number of rows (default 40 000)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = [0, 1]
    rates = [0.25, 0.1, 0.04]
    rep = Reproduction(__file__, scale=f"synthetic_ctr {40000 * args.scale} rows, 8 fields x 500 values, dim 16, "
                       "2 epochs, 2 seeds, one CPU thread", seeds=seeds)
    runs = []
    for seed in seeds:
        d = ga.create("dataset", "synthetic_ctr", n_samples=40000 * args.scale, n_fields=8, cardinality=500, zipf=1.1,
                      informative=[0, 1, 2, 3], interactions=[[0, 1]], main_effect=0.5, interaction_strength=2.0,
                      seed=seed).load()
        bench = ga.create("measure", "embedding_compression_benchmark", rates=rates, dim=16, hidden=[64, 32], seed=seed)
        runs.append(bench(data={"X": d.X, "y": d.y, "cardinalities": d.meta["cardinalities"]}))
    keys = sorted(set().union(*runs))
    mean = {k: float(np.mean([r[k] for r in runs if k in r])) for k in keys}
    for k in keys:
        if k.endswith(("/auc", "/feasible", "/compression", "/inference_us_per_row")):
            print(f"{k:45s} {mean[k]:.4f}")

    def auc(m: str, r: float) -> float | None:
        return mean.get(f"{m}@{r:g}/auc")

    full = mean["full@1/auc"]
    tight_h = max(a for m in HASHING if (a := auc(m, 0.04)) is not None)
    tight_o = [a for m in OTHERS if (a := auc(m, 0.04)) is not None]
    best_o = max(tight_o) if tight_o else float("nan")
    rep.record("hashing_strong_at_tight_budgets",
               ours=f"rate 0.04: best hash-based {tight_h:.4f} vs best other {best_o:.4f} "
                    f"({len(tight_o)} of 3 others feasible)",
               value=tight_h - best_o if tight_o else None, holds=bool(tight_o) and tight_h >= best_o,
               note="AUC mean of 2 seeds; MDE cannot go below one dim per row (infeasible at 25x with d = 16)")
    drops = {m: full - a for m in HASHING + OTHERS if (a := auc(m, 0.1)) is not None}
    worst = max(drops, key=drops.get)
    rep.record("graceful_degradation", ours=f"full {full:.4f}; worst drop at rate 0.1: {worst} {drops[worst]:+.4f}",
               value=drops[worst], holds=drops[worst] <= 0.02,
               note="holds if no method loses more than 0.02 AUC at 10x compression (our threshold)")
    qr_gaps = {r: auc("qr_embedding", r) - auc("hash_trick_embedding", r) for r in (0.1, 0.04)
               if auc("qr_embedding", r) is not None}
    rep.record("qr_beats_plain_hash", ours="; ".join(f"rate {r:g}: QR {auc('qr_embedding', r):.4f} vs hash "
                                                     f"{auc('hash_trick_embedding', r):.4f}" for r in qr_gaps),
               value=min(qr_gaps.values()), holds=all(g >= -0.002 for g in qr_gaps.values()),
               note="AUC mean of 2 seeds; holds within 0.002")
    ratio = mean["tt_rec_embedding@0.1/inference_us_per_row"] / mean["hash_trick_embedding@0.1/inference_us_per_row"]
    rep.record("tt_rec_slower", ours=f"TT-Rec / hash inference time per row at rate 0.1: {ratio:.2f}x", value=ratio,
               holds=ratio > 1.0, note="single-thread CPU, batch = the whole test set")
    path = rep.write()
    table = {k: v for k, v in mean.items()}
    path.with_name("benchmark_table.json").write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(path)


if __name__ == "__main__":
    main()
