"""PONITA forward+backward time per batch: geoatlas ``ponita`` vs the authors' ``ebekkers/ponita``.

Usage::

    python plugins/geoatlas_plugins/ponita/benchmark.py [--reference /path/to/ebekkers-ponita] [--quick]

``--reference`` (or ``$PONITA_REFERENCE``, so that ``make bench`` can use it) is a checkout of
https://github.com/ebekkers/ponita (not pip-installable and not shipped here). It imports
``torch_scatter`` (no wheel for this torch) only for ``scatter_mean``; the benchmark puts a small stand-in module built on ``torch_geometric.utils.scatter`` on the path,
and registers the reference's transforms' ``__call__`` as ``forward`` (torch-geometric >= 2.4
made ``BaseTransform.forward`` abstract). Without ``--reference`` only our scaling tables print.

Both models get the same batch, the same edges (fully connected graphs, which take our dense
aggregation, and the same graphs with a fixed random half of the edges, which take the general
one), the same orientation grid and, for the equivalence check, the same weights. Steps of the two alternate (the order
flipping each repeat); the table reports the median times and the median of the per-repeat
paired ratios, one thread, float32, with the load average printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

SHIM = '''
from torch_geometric.utils import scatter


def scatter_mean(src, index, dim=0, dim_size=None):
    return scatter(src, index, dim=dim, dim_size=dim_size, reduce="mean")


def scatter_add(src, index, dim=0, dim_size=None):
    return scatter(src, index, dim=dim, dim_size=dim_size, reduce="sum")
'''


def load_reference(path: str | None) -> Any:
    """The reference ``PonitaFiberBundle`` class, or ``None`` with a printed reason."""
    if path is None:
        print("reference: not given (--reference PATH to a checkout of ebekkers/ponita); ours only")
        return None
    root = Path(path)
    if not (root / "ponita" / "models" / "ponita.py").exists():
        print(f"reference: {root} has no ponita/models/ponita.py; ours only")
        return None
    shim_dir = Path(tempfile.mkdtemp(prefix="ponita_shim_"))
    (shim_dir / "torch_scatter").mkdir()
    (shim_dir / "torch_scatter" / "__init__.py").write_text(SHIM)
    sys.path[:0] = [str(root), str(shim_dir)]
    try:
        from ponita.transforms import PositionOrientationGraph, SEnInvariantAttributes  # type: ignore

        for cls in (PositionOrientationGraph, SEnInvariantAttributes):
            cls.forward = cls.__call__
            cls.__abstractmethods__ = frozenset()
        from ponita.models.ponita import PonitaFiberBundle  # type: ignore
    except Exception as exc:  # noqa: BLE001 - report and go on with ours
        print(f"reference: import failed ({type(exc).__name__}: {exc}); ours only")
        return None
    return PonitaFiberBundle


def half_edges(b: Any, seed: int = 1) -> Any:
    """The batch with a fixed random half of its edges (a general sparse graph)."""
    b = b.clone()
    keep = torch.rand(b.edge_index.shape[1], generator=torch.Generator().manual_seed(seed)) < 0.5
    b.edge_index = b.edge_index[:, keep]
    return b


def make_batch(n_graphs: int, n_nodes: int, seed: int = 0) -> Any:
    from torch_geometric.data import Batch, Data

    from geoatlas_plugins.ponita.geometry import fully_connected_graph

    gen = torch.Generator().manual_seed(seed)
    graphs = [Data(pos=torch.randn(n_nodes, 3, generator=gen), x=torch.randn(n_nodes, 2, generator=gen),
                   vec=torch.randn(n_nodes, 1, 3, generator=gen)) for _ in range(n_graphs)]
    b = Batch.from_data_list(graphs)
    b.edge_index = fully_connected_graph(b.batch, loop=False)
    return b


def make_batch_sizes(sizes: tuple[int, ...], seed: int = 0) -> Any:
    from torch_geometric.data import Batch, Data

    from geoatlas_plugins.ponita.geometry import fully_connected_graph

    gen = torch.Generator().manual_seed(seed)
    b = Batch.from_data_list([Data(pos=torch.randn(n, 3, generator=gen), x=torch.randn(n, 2, generator=gen),
                                   vec=torch.randn(n, 1, 3, generator=gen)) for n in sizes])
    b.edge_index = fully_connected_graph(b.batch, loop=False)
    return b


def ours_model(num_ori: int, hidden: int, layers: int, basis: int, grid: str = "fibonacci", **kw: Any) -> Any:
    import geoatlas as ga

    return ga.create("encoder", "ponita", in_features=2, hidden=hidden, out_features=1, layers=layers,
                     num_orientations=num_ori, in_vectors=1, out_vectors=1, basis_dim=basis, grid=grid,
                     task_level="node", calibrate=False, connectivity="edges", layer_scale=1e-6, **kw)


def ref_model(cls: Any, num_ori: int, hidden: int, layers: int, basis: int, grid: torch.Tensor) -> Any:
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):  # the reference prints a tqdm bar for its grid
        m = cls(3, hidden, 1, layers, output_dim_vec=1, num_ori=num_ori, basis_dim=basis, layer_scale=1e-6, task_level="node")
    m.transform.transforms[0].ori_grid_s2 = grid  # cast to the data dtype by the reference
    for mod in m.modules():
        if hasattr(mod, "callibrated"):
            mod.callibrated.fill_(True)
    return m


def step_time(fn: Any, params: list[torch.nn.Parameter], repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):
        for p in params:
            p.grad = None
        t = time.perf_counter()
        loss = fn()
        loss.backward()
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def paired_times(fa: Any, pa: list[torch.nn.Parameter], fb: Any, pb: list[torch.nn.Parameter],
                 repeats: int) -> tuple[float, float, float]:
    """Interleaved single steps of a and b (the order alternating each repeat, so that load drift
    on a shared machine hits both alike): medians of the times of a and of b and the median of the
    per-repeat paired ratios ``t_a / t_b`` (the number to read; robust to slow phases)."""
    ta, tb, ratios = [], [], []
    step_time(fa, pa, 1)  # warm-up
    step_time(fb, pb, 1)
    for r in range(repeats):
        if r % 2:
            b_ = _one_step(fb, pb)
            a_ = _one_step(fa, pa)
        else:
            a_ = _one_step(fa, pa)
            b_ = _one_step(fb, pb)
        ta.append(a_)
        tb.append(b_)
        ratios.append(a_ / b_)
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def _one_step(fn: Any, params: list[torch.nn.Parameter]) -> float:
    for p in params:
        p.grad = None
    t = time.perf_counter()
    fn().backward()
    return time.perf_counter() - t


def ours_loss(m: Any, b: Any) -> Any:
    out = m.encode(b)
    return out.node_scalars.square().mean() + out.node_vectors.square().mean()


def ref_loss(m: Any, b: Any) -> Any:
    s, v = m(b.clone())
    return s.square().mean() + v.square().mean()


def equivalence(cls: Any, sizes: tuple[int, ...] = (7, 7, 7)) -> float:
    """Max |ours - reference| over node scalars and vectors, same weights and grid (float64).

    Equal sizes take our dense (reshape) aggregation, unequal ones the general ``index_add`` one."""
    ours = ours_model(8, 16, 2, 12).double().eval()
    ref = ref_model(cls, 8, 16, 2, 12, ours.orientation_grid(torch.zeros((), dtype=torch.float64))).double().eval()
    b = make_batch(len(sizes), sizes[0]) if len(set(sizes)) == 1 else make_batch_sizes(sizes)
    for k in ("pos", "x", "vec"):
        b[k] = b[k].double()
    with torch.no_grad():
        ref(b.clone())  # materialise the reference's LazyLinear layers
    state = {}
    for k, v in ref.state_dict().items():
        k2 = k.replace("basis_fn.1.", "basis_fn.net.0.").replace("basis_fn.3.", "basis_fn.net.2.")
        state[k2.replace("read_out_layers", "readout_layers").replace("callibrated", "calibrated")] = v
    ours.load_state_dict(state)
    with torch.no_grad():
        rs, rv = ref(b.clone())
        o = ours.encode(b)
    return max(float((rs - o.node_scalars).abs().max()), float((rv - o.node_vectors).abs().max()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=os.environ.get("PONITA_REFERENCE"),
                    help="path to a checkout of github.com/ebekkers/ponita (default: $PONITA_REFERENCE)")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    import warnings

    warnings.filterwarnings("ignore")
    reps = 5 if args.quick else 15
    print(f"load average (1, 5, 15 min) at start: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs; torch {torch.__version__}, 1 thread")
    hidden, layers, basis, num_ori = 64, 3, 64, 16
    cls = load_reference(args.reference)
    if cls is not None:
        print("equivalence with the reference (same weights/grid, float64): max |diff| = "
              f"{equivalence(cls):.2e} (3 graphs of 7 nodes: dense path), "
              f"{equivalence(cls, (4, 7, 5)):.2e} (4, 7, 5 nodes: general path)")
        print(f"\nforward+backward per batch of 16 graphs, complete or with half the edges (hidden {hidden}, {layers} layers, "
              f"basis {basis}, {num_ori} orientations)")
        print(f"{'nodes':>6} {'graph':>9} {'edges':>7} {'ours ms':>9} {'ref ms':>9} {'ours/ref':>9}  (medians of {reps} "
              "interleaved pairs; ratio = median of paired ratios)")
        for n in ([5, 10] if args.quick else [5, 10, 20]):
            full = make_batch(16, n)
            for kind, b in (("complete", full), ("half", half_edges(full))):
                ours = ours_model(num_ori, hidden, layers, basis)
                ref = ref_model(cls, num_ori, hidden, layers, basis, ours.orientation_grid(torch.zeros(())))
                with torch.no_grad():
                    ref(b.clone())
                t_o, t_r, ratio = paired_times(lambda: ours_loss(ours, b), list(ours.parameters()),  # noqa: B023
                                               lambda: ref_loss(ref, b), list(ref.parameters()), reps)  # noqa: B023
                print(f"{n:>6} {kind:>9} {b.edge_index.shape[1]:>7} {1e3 * t_o:>9.1f} {1e3 * t_r:>9.1f} {ratio:>9.2f}",
                      flush=True)
    print(f"\nours: scaling with nodes (16 graphs, fully connected, {num_ori} orientations)")
    print(f"{'nodes':>6} {'edges':>7} {'ms':>9}")
    for n in ([5, 10] if args.quick else [5, 10, 20]):
        b = make_batch(16, n)
        m = ours_model(num_ori, hidden, layers, basis)
        print(f"{n:>6} {b.edge_index.shape[1]:>7} {1e3 * step_time(lambda: ours_loss(m, b), list(m.parameters()), reps):>9.1f}")  # noqa: B023
    print("\nours: scaling with orientations (16 graphs of 10 nodes)")
    print(f"{'N':>6} {'ms':>9}")
    b = make_batch(16, 10)
    for no in ([4, 16, 64] if args.quick else [4, 8, 16, 32, 64]):
        m = ours_model(no, hidden, layers, basis)
        print(f"{no:>6} {1e3 * step_time(lambda: ours_loss(m, b), list(m.parameters()), reps):>9.1f}")  # noqa: B023
    print(f"\nload average (1, 5, 15 min) at end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
