"""EqMotion: forward+backward time of ours vs the authors' n-body model (same sizes, same input).

The reference (``MediaBrain-SJTU/EqMotion``, ``n_body_system/model_t_reason.py``) is not
pip-installable: fetch the repository and pass its root::

    python plugins/geoatlas_plugins/eqmotion/benchmark.py /path/to/EqMotion

Without the path (or if it cannot be imported) only our timings are printed. Besides timing, the
script checks that both models are SE(3)-equivariant on the same input (errors printed), since the
two implementations differ in details (the reference takes simulator velocities and a fixed
2-category reasoning module) and their outputs cannot be compared weight for weight.
"""

from __future__ import annotations

import sys
import time

import torch

import geoatlas as ga


def _time(fn, reps: int = 5) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main(ref_path: str | None = None, batch: int = 64, agents: int = 5, past: int = 10, future: int = 10) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    steps = 0.1 * torch.randn(batch, agents, past, 3)
    x = torch.randn(batch, agents, 1, 3) + steps.cumsum(2)
    y = torch.randn(batch, agents, future, 3)
    ours = ga.create("encoder", "eqmotion", past_length=past, future_length=future, hidden_nf=64, hid_channel=64, n_layers=4, flatten_output=False)

    def run_ours() -> None:
        ours.zero_grad()
        (ours(x) - y).norm(dim=-1).mean().backward()

    t_ours = _time(run_ours)
    G = ga.create("group", "se3")
    g = G.sample(1, torch.Generator().manual_seed(1))[0]
    with torch.no_grad():
        e_ours = (ours(G.act(g, x, "point_cloud")) - G.act(g, ours(x), "point_cloud")).abs().max().item()
    rows = [("ours (geoatlas eqmotion)", t_ours, e_ours)]
    ref = None
    if ref_path:
        sys.path.insert(0, ref_path)
        try:
            from n_body_system.model_t_reason import EqMotion as RefEqMotion  # type: ignore[import-not-found]

            ref = RefEqMotion(in_node_nf=past, in_edge_nf=2, hidden_nf=64, in_channel=past, hid_channel=64, out_channel=future,
                              device="cpu", n_layers=4, recurrent=True)
        except Exception as exc:  # the reference is optional
            print(f"reference not available from {ref_path!r}: {exc}")
    else:
        print("reference path not given: pass the root of a MediaBrain-SJTU/EqMotion checkout to compare")
    if ref is not None:
        vel = torch.zeros_like(x)
        vel[:, :, 1:] = x[:, :, 1:] - x[:, :, :-1]
        vel[:, :, 0] = vel[:, :, 1]
        speed = vel.norm(dim=-1)

        def run_ref() -> None:
            ref.zero_grad()
            out, _ = ref(speed, x, vel)
            (out - y).norm(dim=-1).mean().backward()

        t_ref = _time(run_ref)
        with torch.no_grad():
            xr, vr = G.act(g, x, "point_cloud"), G.act(g, vel, "vector")
            e_ref = (ref(speed, xr, vr)[0] - G.act(g, ref(speed, x, vel)[0], "point_cloud")).abs().max().item()
        rows.append(("reference (authors' code)", t_ref, e_ref))
    print(f"EqMotion n-body model, batch {batch}, {agents} agents, {past} -> {future} frames, hidden 64/64, 4 layers, 1 thread")
    print(f"{'implementation':<28}{'fwd+bwd [ms]':>14}{'SE(3) equiv. error':>20}")
    for name, t, e in rows:
        print(f"{name:<28}{1e3 * t:14.1f}{e:20.2e}")
    if len(rows) == 2:
        print(f"ratio ours / reference: {rows[0][1] / rows[1][1]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
