"""Training-step time of Poincaré ResNet: geoatlas ``poincare_resnet`` vs the authors' code.

One training step = forward + cross-entropy + backward + Riemannian Adam step, same
architecture (widths (8, 16, 32), ``--blocks`` residual blocks per stage, c = 0.1, identity
initialisation, midpoint batch norm), same batch of 3x32x32 images (the reference hard-codes
3 input channels and an 8x8 average pool, i.e. CIFAR-sized input), one CPU thread.

Compared with:

- the authors' reference ``maxvanspengler/poincare-resnet`` (``HyperbolicResNet``, custom
  autograd on), when a checkout is given with ``--reference PATH`` (a folder containing its
  ``models/`` package; it needs only torch, geoopt and scipy). It is never vendored here. Get it
  with ``git clone https://github.com/maxvanspengler/poincare-resnet PATH``.
- a straightforward geoopt implementation of the same layers: our model with the convolution
  computed the textbook way (unfold the patches, ``geoopt expmap0`` each, Poincaré FC), always.

Run: ``python plugins/geoatlas_plugins/poincare_resnet/benchmark.py --reference /tmp/poincare-resnet``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")


def _time_steps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int) -> float:
    import geoopt

    opt = geoopt.optim.RiemannianAdam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up (TorchScript profiling in geoopt, allocator)
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _naive_conv(self: Any, u: torch.Tensor) -> torch.Tensor:
    """Textbook Poincaré conv: unfold, exp_0 every patch (geoopt), Poincaré FC."""
    from geoatlas_plugins.poincare_resnet.layers import poincare_fc

    n, _, h, w = u.shape
    oh, ow = self.output_size(h, w)
    patches = F.unfold(u * self.beta_scale, self.kernel_size, padding=self.padding, stride=self.stride)
    y = poincare_fc(self.ball.expmap0(patches.transpose(1, 2), dim=-1), self.weight, self.bias, self.ball)
    return y.transpose(1, 2).reshape(n, self.out_channels, oh, ow)


def _ours(blocks: int, naive: bool) -> torch.nn.Module:
    import geoatlas as ga
    from geoatlas_plugins.poincare_resnet.layers import PoincareConv2d

    torch.manual_seed(0)
    m = ga.create("encoder", "poincare_resnet", in_channels=3, num_classes=10, channels=[8, 16, 32],
                  blocks_per_stage=[blocks] * 3, c=0.1)
    if naive:
        for mod in m.modules():
            if isinstance(mod, PoincareConv2d):
                mod.forward_tangent = types.MethodType(_naive_conv, mod)
    return m


def _reference(path: Path, blocks: int) -> torch.nn.Module:
    sys.path.insert(0, str(path))
    try:
        hyp = importlib.import_module("models.resnets.hyperbolic")
    finally:
        sys.path.pop(0)
    torch.manual_seed(0)
    return hyp.HyperbolicResNet(classes=10, channel_dims=[8, 16, 32], depths=[blocks] * 3, init_c=0.1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, default=Path("/tmp/poincare-resnet"),
                    help="checkout of maxvanspengler/poincare-resnet (folder holding models/)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--blocks", type=int, nargs="+", default=[1, 3], help="blocks per stage (1: ResNet-8, 3: ResNet-20)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    ref_ok = (args.reference / "models" / "resnets" / "hyperbolic.py").is_file()
    if not ref_ok:
        print(f"reference NOT available at {args.reference} (no models/resnets/hyperbolic.py): "
              "comparing only against the straightforward geoopt implementation.\n"
              "  get it with: git clone https://github.com/maxvanspengler/poincare-resnet " + str(args.reference))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)

    rows: list[tuple[str, float, float, float | None]] = []
    for blocks in args.blocks:
        depth = 6 * blocks + 2
        builders: dict[str, Callable[[], torch.nn.Module]] = {
            "ours": lambda b=blocks: _ours(b, naive=False),
            "naive": lambda b=blocks: _ours(b, naive=True),
        }
        if ref_ok:
            builders["reference"] = lambda b=blocks: _reference(args.reference, b)
        t = {k: _time_steps(f(), x, y, args.repeats) for k, f in builders.items()}
        rows.append((f"ResNet-{depth} (8,16,32), batch {args.batch}", t["ours"], t["naive"], t.get("reference")))

    print(f"\ntraining step (forward+backward+RiemannianAdam), 1 CPU thread, median of {args.repeats}")
    print(f"{'model':38s} {'ours s':>8s} {'naive s':>8s} {'ref s':>8s} {'ours/naive':>11s} {'ours/ref':>9s}")
    for name, ours, naive, ref in rows:
        ref_s = f"{ref:8.3f}" if ref is not None else f"{'n/a':>8s}"
        ratio_ref = f"{ours / ref:9.2f}" if ref is not None else f"{'n/a':>9s}"
        print(f"{name:38s} {ours:8.3f} {naive:8.3f} {ref_s} {ours / naive:11.2f} {ratio_ref}")
    print("reference: maxvanspengler/poincare-resnet HyperbolicResNet (custom autograd)" if ref_ok
          else "reference: none (straightforward geoopt implementation only)")


if __name__ == "__main__":
    main()
