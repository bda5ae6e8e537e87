"""SIE hypernetwork predictor: agreement and speed against the authors' ``src/hypernetwork.py``.

The reference (``facebookresearch/SIE``) is not pip-installable: fetch it and pass its root::

    python plugins/geoatlas_plugins/split_invariant_equivariant/benchmark.py /path/to/SIE

The script copies our hypernetwork weights into the reference ``ParametrizedNet`` (linear and
deep hypernetworks, with and without predictor biases/hidden layers) and reports the maximal
output difference and the time of a forward+backward pass (ours / theirs).
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace

import torch

from geoatlas_plugins.split_invariant_equivariant.model import HyperNetPredictor


def _time(fn, reps: int = 20) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main(ref_path: str | None = None, batch: int = 256, emb: int = 128) -> None:
    torch.set_num_threads(1)
    if not ref_path:
        print("reference path not given: pass the root of a facebookresearch/SIE checkout")
        return
    sys.path.insert(0, ref_path)
    try:
        from src.hypernetwork import ParametrizedNet  # type: ignore[import-not-found]
    except Exception as exc:
        print(f"reference not available from {ref_path!r}: {exc}")
        return
    configs = [
        ("linear hypernet, 1 layer", dict(hypernetwork="linear", predictor="", bias_pred=False, predictor_relu=False)),
        ("deep hypernet, 1 layer", dict(hypernetwork="deep", predictor="", bias_pred=False, predictor_relu=False)),
        ("linear, hidden 64, biases, relu", dict(hypernetwork="linear", predictor="64", bias_pred=True, predictor_relu=True)),
    ]
    print(f"batch {batch}, embedding {emb}, transformation parameters 2 (cos, sin)")
    print(f"{'predictor':<34}{'max |diff|':>12}{'ours [ms]':>11}{'ref [ms]':>10}{'ratio':>7}")
    for name, cfg in configs:
        torch.manual_seed(0)
        args = SimpleNamespace(bias_hypernet=False, **cfg)
        hidden = [int(h) for h in cfg["predictor"].split("-")] if cfg["predictor"] else None
        ours = HyperNetPredictor(emb, 2, hidden, cfg["hypernetwork"], False, cfg["bias_pred"], cfg["predictor_relu"])
        theirs = ParametrizedNet(emb, 2, args)
        theirs.hypernet.net.load_state_dict(ours.net.state_dict() if cfg["hypernetwork"] == "deep" else {"0.weight": ours.net.weight})
        y = torch.randn(batch, emb, requires_grad=True)
        a = torch.randn(batch, 2)
        with torch.no_grad():
            diff = (ours(y, a) - theirs(y.unsqueeze(1), a)).abs().max().item()

        t_o = _time(lambda m=ours, y=y, a=a: m(y, a).sum().backward())
        t_r = _time(lambda m=theirs, y=y, a=a: m(y.unsqueeze(1), a).sum().backward())
        print(f"{name:<34}{diff:12.2e}{1e3 * t_o:11.2f}{1e3 * t_r:10.2f}{t_o / t_r:7.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
