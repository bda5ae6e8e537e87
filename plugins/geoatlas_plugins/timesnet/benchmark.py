"""Train-step time of ``timesnet`` against neuralforecast's ``TimesNet`` (same sizes, same weights).

neuralforecast's TimesNet is univariate and normalises outside the network (its scaler), so the
comparison uses ``n_channels=1, use_norm=False``: the same computation. One train step = forward
on a batch of windows, MSE, backward, Adam step; dropout 0.1, float32, one thread; neuralforecast's
network is called directly (``forward(windows_batch)``, without its Lightning loop). The outputs
are compared first (eval mode, copied weights). Median of paired repetitions; ratio ours / theirs.

Run: ``python plugins/geoatlas_plugins/timesnet/benchmark.py [--reps 5] [--large]``. The default
sizes finish in under 3 minutes on the loaded 2-core CI machine; ``--large`` adds the CO2 demo's
configuration (B 64, L 156, H 52, d_model 64, top_k 5), which needs a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import geoatlas as ga


def copy_weights(ours: torch.nn.Module, nf: torch.nn.Module) -> None:
    with torch.no_grad():
        nf.enc_embedding.value_embedding.tokenConv.weight.copy_(ours.token.weight)
        for a, b in zip(ours.blocks, nf.model, strict=True):
            for mine, ref in ((a.conv[0], b.conv[0]), (a.conv[2], b.conv[2])):
                for p, q in zip(mine.kernels, ref.kernels, strict=True):
                    q.weight.copy_(p.weight)
                    q.bias.copy_(p.bias)
        for name in ("predict_linear", "layer_norm", "projection"):
            getattr(nf, name).weight.copy_(getattr(ours, name).weight)
            getattr(nf, name).bias.copy_(getattr(ours, name).bias)


def step(fn, params_opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    t = time.perf_counter()
    params_opt.zero_grad()
    torch.nn.functional.mse_loss(fn(x), y).backward()
    params_opt.step()
    return time.perf_counter() - t


def main() -> None:
    from neuralforecast.models import TimesNet as NFTimesNet

    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--large", action="store_true", help="also time B 64, L 156, H 52, d_model 64 (slow)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}; 1 thread")
    print("| B, L, H | d_model, d_ff, top_k, kernels | max diff (eval) | ours ms | neuralforecast ms | ratio |")
    print("|---|---|---|---|---|---|")
    configs = [(8, 48, 12, 16, 32, 3, 6), (16, 96, 24, 16, 32, 5, 6)]
    if args.large:
        configs += [(32, 96, 24, 16, 32, 3, 6), (64, 156, 52, 64, 64, 5, 6)]
    for B, L, H, E, F, k, nk in configs:
        torch.manual_seed(0)
        ours = ga.create("encoder", "timesnet", n_channels=1, input_length=L, horizon=H, d_model=E, d_ff=F, top_k=k,
                         num_kernels=nk, e_layers=2, dropout=0.1, use_norm=False)
        nf = NFTimesNet(h=H, input_size=L, hidden_size=E, conv_hidden_size=F, top_k=k, num_kernels=nk, encoder_layers=2,
                        dropout=0.1, max_steps=1)
        copy_weights(ours, nf)
        x, y = torch.randn(B, L, 1), torch.randn(B, H, 1)
        empty = torch.zeros(B, L + H, 0)
        theirs = (lambda net, e: (lambda z: net({"insample_y": z, "futr_exog": e})))(nf, empty)
        ours.eval(), nf.eval()
        with torch.no_grad():
            diff = (ours(x) - theirs(x)).abs().max().item()
        ours.train(), nf.train()
        o1, o2 = torch.optim.Adam(ours.parameters(), 1e-4), torch.optim.Adam(nf.parameters(), 1e-4)
        for _ in range(1):
            step(ours, o1, x, y)
            step(theirs, o2, x, y)
        t1, t2, r = [], [], []
        for _ in range(args.reps):
            a, b = step(ours, o1, x, y), step(theirs, o2, x, y)
            t1.append(a), t2.append(b), r.append(a / b)
        print(f"| {B}, {L}, {H} | {E}, {F}, {k}, {nk} | {diff:.1e} | {1e3 * statistics.median(t1):.1f} | "
              f"{1e3 * statistics.median(t2):.1f} | {statistics.median(r):.2f} |", flush=True)


if __name__ == "__main__":
    main()
