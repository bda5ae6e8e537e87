"""EqMotion: forward+backward time of ours vs the authors' n-body model (same sizes, same input).

The reference (``MediaBrain-SJTU/EqMotion``, ``n_body_system/model_t_reason.py``) is not
pip-installable: fetch the repository and pass its root::

    python plugins/geoatlas_plugins/eqmotion/benchmark.py /path/to/EqMotion

Without the path (or if it cannot be imported) only our timings are printed. With it, the script
first copies our weights into the reference (the parameter layouts map one to one, see
:func:`reference_state_dict`), runs both in float64 on the same trajectories (the reference gets
our finite-difference velocities and speeds) and asserts that predictions and interaction
categories agree (:func:`reference_agreement`, tolerance 1e-9); then it times both and checks
SE(3) equivariance of each.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import torch

import geoatlas as ga


def _time(fn, reps: int = 5) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def reference_state_dict(ours: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Our EqMotion parameters under the names of the authors' ``model_t_reason.EqMotion``.

    The reference additionally holds modules its reasoning model never calls (``gcl_i.coord_mlp``,
    ``gcl_i.node_att_mlp``); load with ``strict=False`` and check that only those are missing.
    """
    top = {"speed_embed": "embedding", "angle_embed": "embedding2", "coord_trans": "coord_trans", "vel_trans": "vel_trans",
           "predict_head": "predict_head", "reason_edge": "edge_mlp", "reason_dist": "coord_mlp", "reason_node": "node_mlp",
           "reason_category": "category_mlp"}
    layer = {"edge_mlp": "edge_mlp", "category_mlps": "category_mlp", "factor_mlp": "factor_mlp", "node_mlp": "node_mlp",
             "att_mlp": "mlp_q", "coord_vel": "coord_vel", "layer_q": "layer_q", "layer_k": "layer_k"}
    out = {}
    for name, value in ours.state_dict().items():
        parts = name.split(".")
        if parts[0] == "layers":
            new = [f"gcl_{parts[1]}", layer[parts[2]], *parts[3:]]
        else:
            new = [top[parts[0]], *parts[1:]]
        out[".".join(new)] = value.clone()
    return out


def agreement_case(past: int = 20, future: int = 20, agents: int = 5, batch: int = 4, seed: int = 0) -> tuple[Any, torch.Tensor]:
    """Our float64 n-body reasoning model with perturbed weights and an input batch, both from ``seed``:
    the case on which ours is compared with the authors' model (live, or against recorded outputs)."""
    torch.manual_seed(seed)
    ours = ga.create("encoder", "eqmotion", past_length=past, future_length=future, hidden_nf=64, hid_channel=64, n_layers=4,
                     flatten_output=False).double()
    # perturb every parameter so that no layer sits at a near-zero initialisation (e.g. the 0.001-gain one)
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
    g = torch.Generator().manual_seed(seed + 1)
    steps = 0.1 * torch.randn(batch, agents, past, 3, generator=g, dtype=torch.float64)
    x = torch.randn(batch, agents, 1, 3, generator=g, dtype=torch.float64) + steps.cumsum(2)
    ours.eval()
    return ours, x


def _reference_model(ref_path: str, past: int, future: int) -> Any:
    """The authors' n-body reasoning ``EqMotion`` (``n_body_system/model_t_reason.py`` of a checkout at
    ``ref_path``) in the benchmark's configuration (hidden 64, 4 layers)."""
    sys.path.insert(0, ref_path)
    from n_body_system.model_t_reason import EqMotion as RefEqMotion  # type: ignore[import-not-found]

    return RefEqMotion(in_node_nf=past, in_edge_nf=2, hidden_nf=64, in_channel=past, hid_channel=64, out_channel=future,
                       device="cpu", n_layers=4, recurrent=True)


def reference_outputs(ref_path: str, past: int = 20, future: int = 20, agents: int = 5, batch: int = 4, seed: int = 0) -> dict[str, Any]:
    """The authors' model (a checkout of MediaBrain-SJTU/EqMotion at ``ref_path``) with our weights, on
    :func:`agreement_case`: its predictions and interaction categories, and ours."""
    ours, x = agreement_case(past, future, agents, batch, seed)
    ref = _reference_model(ref_path, past, future).double()
    missing, unexpected = ref.load_state_dict(reference_state_dict(ours), strict=False)
    assert not unexpected, unexpected
    assert all(k.split(".")[1] in ("coord_mlp", "node_att_mlp") for k in missing), missing
    ref.eval()
    with torch.no_grad():
        out, cat = ours.predict(x, return_categories=True)
        vel, speed, _ = ours.invariant_motion_features(x)
        out_ref, cats_ref = ref(speed, x, vel)
    return {"prediction": out, "categories": cat, "prediction_ref": out_ref, "categories_ref": cats_ref[0]}


def reference_agreement(ref_path: str, past: int = 20, future: int = 20, agents: int = 5, batch: int = 4, seed: int = 0) -> dict[str, float]:
    """Max |ours - reference| of the predictions and of the interaction categories, float64, same weights."""
    o = reference_outputs(ref_path, past, future, agents, batch, seed)
    return {"prediction": float((o["prediction"] - o["prediction_ref"]).abs().max()),
            "categories": float((o["categories"] - o["categories_ref"]).abs().max()),
            "prediction_scale": float(o["prediction"].abs().max())}


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

    if ref_path:
        agree = reference_agreement(ref_path)
        print(f"agreement with the authors' model, float64, same weights: predictions {agree['prediction']:.1e} "
              f"(scale {agree['prediction_scale']:.2f}), categories {agree['categories']:.1e}")
        assert agree["prediction"] < 1e-9 and agree["categories"] < 1e-9, agree
    t_ours = _time(run_ours)
    G = ga.create("group", "se3")
    g = G.sample(1, torch.Generator().manual_seed(1))[0]
    with torch.no_grad():
        e_ours = (ours(G.act(g, x, "point_cloud")) - G.act(g, ours(x), "point_cloud")).abs().max().item()
    rows = [("ours (geoatlas eqmotion)", t_ours, e_ours)]
    ref = None
    if ref_path:
        try:
            ref = _reference_model(ref_path, past, future)
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
