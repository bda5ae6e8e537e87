"""Train-step time of ``itransformer`` against neuralforecast's ``iTransformer`` (same sizes, same weights).

One train step = forward on a batch of windows, MSE, backward, Adam step. neuralforecast's module is
timed through its ``forecast`` method (the network alone, without its Lightning training loop and
data loader, which would only add to its time). Both run with dropout 0.1 in train mode, float32,
one thread. The outputs are compared first (eval mode, copied weights). Reports the median of
paired repetitions and the ratio ours / theirs (below 1: ours is faster).

Run: ``python plugins/geoatlas_plugins/itransformer/benchmark.py [--reps 20]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import torch

import geoatlas as ga

_spec = importlib.util.spec_from_file_location("_it_test", Path(__file__).parent / "tests" / "test_itransformer.py")
_mod = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_mod)  # type: ignore[union-attr]
copy_into_neuralforecast = _mod.copy_into_neuralforecast


def step_time(model: torch.nn.Module, fn, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer) -> float:
    t = time.perf_counter()
    opt.zero_grad()
    torch.nn.functional.mse_loss(fn(x), y).backward()
    opt.step()
    return time.perf_counter() - t


def main() -> None:
    from neuralforecast.models import iTransformer

    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}; 1 thread")
    print("| B, L, N, S | d_model, d_ff, layers | max diff (eval) | ours ms | neuralforecast ms | ratio |")
    print("|---|---|---|---|---|---|")
    for B, L, N, S, E, F, K in [(32, 96, 16, 24, 64, 128, 2), (32, 96, 16, 96, 128, 256, 2), (32, 96, 32, 96, 512, 2048, 2)]:
        torch.manual_seed(0)
        ours = ga.create("encoder", "itransformer", n_channels=N, input_length=L, horizon=S, d_model=E, n_heads=8,
                         e_layers=K, d_ff=F, dropout=0.1)
        nf = iTransformer(h=S, input_size=L, n_series=N, hidden_size=E, n_heads=8, e_layers=K, d_ff=F, dropout=0.1, max_steps=1)
        copy_into_neuralforecast(ours, nf)
        x, y = torch.randn(B, L, N), torch.randn(B, S, N)
        ours.eval(), nf.eval()
        with torch.no_grad():
            diff = (ours(x) - nf.forecast(x.clone())).abs().max().item()
        ours.train(), nf.train()
        o1, o2 = torch.optim.Adam(ours.parameters(), 1e-4), torch.optim.Adam(nf.parameters(), 1e-4)
        theirs = (lambda net: (lambda z: net.forecast(z.clone())))(nf)
        for _ in range(3):  # warm-up
            step_time(ours, ours, x, y, o1)
            step_time(nf, theirs, x, y, o2)
        ratios, t1, t2 = [], [], []
        for _ in range(args.reps):
            a = step_time(ours, ours, x, y, o1)
            b = step_time(nf, theirs, x, y, o2)
            t1.append(a), t2.append(b), ratios.append(a / b)
        print(f"| {B}, {L}, {N}, {S} | {E}, {F}, {K} | {diff:.1e} | {1e3 * statistics.median(t1):.2f} | "
              f"{1e3 * statistics.median(t2):.2f} | {statistics.median(ratios):.2f} |", flush=True)


if __name__ == "__main__":
    main()
