"""Cost of the core's boundary checks (``geoatlas.validation``): the same calls with checks on
and off, as a ratio (on / off). Interleaved repeats, median, one torch thread.

Cases: Poincaré ``dist`` on a batch (finite + in-ball checks of both arguments), ``expmap0``
(finite check), ``mlp`` forward (finite + non-empty + dtype), and one MLP training step
(forward + backward + Adam), which is what a hot loop pays.

Run: ``python benchmarks/validation_cost.py [--batch 256] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

import geoatlas as ga
from geoatlas import validation


def _time(fn: Callable[[], object], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def measure(batch: int = 256, repeats: int = 7, calls: int = 200) -> dict[str, dict[str, float]]:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    ball = ga.create("manifold", "poincare_ball", dim=16)
    x, y = ball.random_point(batch, g, torch.float32), ball.random_point(batch, g, torch.float32)
    u = torch.randn(batch, 16, generator=g)
    mlp = ga.create("encoder", "mlp", in_features=64, out_features=10, hidden=[64, 64])
    xb = torch.randn(batch, 64, generator=g)
    yb = torch.randint(0, 10, (batch,), generator=g)
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(mlp(xb), yb).backward()
        opt.step()

    cases: dict[str, Callable[[], object]] = {
        "poincare dist": lambda: ball.dist(x, y),
        "poincare expmap0": lambda: ball.expmap0(u),
        "mlp forward": lambda: mlp(xb),
        "mlp train step": step,
    }
    out: dict[str, dict[str, float]] = {}
    for name, fn in cases.items():
        on, off = [], []
        for _ in range(repeats):
            with validation.checks(True):
                on.append(_time(fn, calls))
            with validation.checks(False):
                off.append(_time(fn, calls))
        m_on, m_off = statistics.median(on), statistics.median(off)
        out[name] = {"on_us": m_on * 1e6, "off_us": m_off * 1e6, "ratio": m_on / m_off}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    res = measure(args.batch, args.repeats)
    print(f"batch {args.batch}, one thread; median of {args.repeats} interleaved repeats")
    print(f"{'case':<20}{'checks on (us)':>16}{'off (us)':>12}{'on/off':>9}")
    for name, r in res.items():
        print(f"{name:<20}{r['on_us']:>16.1f}{r['off_us']:>12.1f}{r['ratio']:>9.2f}")


if __name__ == "__main__":
    main()
