"""Cost of the Gaunt tensor product (FFT, ours) vs e3nn's full tensor product as the degree grows.

Both take two feature vectors with all degrees ``0..L`` (``(L+1)^2`` coefficients, a batch of
``--batch`` samples) and return all degrees ``0..2L`` (``--out full``, L <= 6 because e3nn's
spherical harmonics, which define our basis, stop at degree 12) or ``0..L`` (``--out same``:
e3nn's product is then filtered to outputs of degree <= L, L <= 12). e3nn's ``FullTensorProduct`` computes every
Clebsch-Gordan path (``O(L^6)`` in total); the Gaunt product computes the parity-even paths in
``O(L^3)`` (change of basis, 2-D FFT, change of basis back). Prints both curves and the ratio.

    python plugins/geoatlas_plugins/gaunt_tensor_product/benchmark.py [--L-max 6] [--out full|same] [--batch 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (and e3nn's lazy compilation)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    from e3nn import o3

    from geoatlas_plugins.gaunt_tensor_product.fourier import GauntFFT

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L-max", type=int, default=None, help="default: 6 (full) or 10 (same)")
    ap.add_argument("--out", choices=("full", "same"), default="full")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    L_max = args.L_max if args.L_max is not None else (6 if args.out == "full" else 10)
    gen = torch.Generator().manual_seed(0)
    rows = []
    print(f"batch={args.batch}, float32, {args.threads} thread(s), outputs up to degree {'2L' if args.out == 'full' else 'L'}, best of {args.repeats}")
    print(f"{'L':>3} {'ours [ms]':>10} {'e3nn full TP [ms]':>18} {'e3nn paths':>10} {'ours/e3nn':>10} {'l=0 check (rel err)':>20}")
    for L in range(1, L_max + 1):
        irreps = o3.Irreps([(1, (deg, (-1) ** deg)) for deg in range(L + 1)])
        x = torch.randn(args.batch, irreps.dim, generator=gen)
        y = torch.randn(args.batch, irreps.dim, generator=gen)
        L_out = 2 * L if args.out == "full" else L
        ours = GauntFFT(L, L, L_out)
        filt = None if args.out == "full" else [ir for _, ir in o3.Irreps([(1, (d, p)) for d in range(L + 1) for p in (1, -1)])]
        tp = o3.FullTensorProduct(irreps, irreps, filter_ir_out=filt)
        with torch.no_grad():
            t_ours = _time(lambda ours=ours, x=x, y=y: ours(x, y), args.repeats)
            t_e3nn = _time(lambda tp=tp, x=x, y=y: tp(x, y), args.repeats)
            # sanity: l=0 output of the Gaunt product is (1/sqrt(4 pi)) <x, y> up to e3nn's scaling
            z = ours(x, y)
            ref = (x * y).sum(-1) / (4 * torch.pi) ** 0.5
            rel = float((z[:, 0] - ref).abs().max() / ref.abs().max())
        rows.append({"L": L, "ours_ms": 1e3 * t_ours, "e3nn_ms": 1e3 * t_e3nn, "ratio": t_ours / t_e3nn})
        print(f"{L:>3} {1e3 * t_ours:>10.3f} {1e3 * t_e3nn:>18.3f} {len(tp.instructions):>10} {t_ours / t_e3nn:>10.3f} {rel:>20.1e}")
    if len(rows) >= 3:
        import math

        a, b = rows[len(rows) // 2], rows[-1]
        k = math.log(b["L"] / a["L"])
        print(
            f"empirical exponent between L={a['L']} and L={b['L']}: ours ~ L^{math.log(b['ours_ms'] / a['ours_ms']) / k:.1f}, "
            f"e3nn ~ L^{math.log(b['e3nn_ms'] / a['e3nn_ms']) / k:.1f}"
        )
    return rows


if __name__ == "__main__":
    main()
