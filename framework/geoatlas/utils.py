"""Small helpers shared by the core and plugins (public API)."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU) for reproducible runs."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def check_finite(x: Any, what: str = "input") -> None:
    """Raise ``ValueError`` when ``x`` (array or tensor) contains NaN or Inf."""
    from .interfaces import check_finite_array

    check_finite_array(x, what)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` atomically (temporary file + rename)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def take(X: Any, idx: Any) -> Any:
    """Rows ``idx`` of samples ``X`` (a numpy array, a torch tensor or a list of samples)."""
    import numpy as np

    if isinstance(X, np.ndarray):
        return X[idx]
    import torch

    if isinstance(X, torch.Tensor):
        return X[torch.as_tensor(idx)]
    return [X[i] for i in idx]


def adjacency_matrix(graph: Any, *, weighted: bool = True, symmetric: bool = False, name: str = "graph") -> Any:
    """The ``(n, n)`` adjacency matrix (``scipy.sparse`` CSR, float64) of a graph given as a
    torch-geometric ``Data`` (``edge_index``, ``num_nodes``, ``edge_weight`` when present and
    ``weighted``), a networkx graph (nodes in sorted order), a scipy sparse matrix or a square
    array. Repeated edges are summed; ``weighted=False`` gives 0/1 entries; ``symmetric=True``
    returns ``A + A^T`` (an undirected graph from one direction per edge; a graph that already
    stores both directions gets doubled weights, so combine it with ``weighted=False``). Bad input raises a ``ValueError`` or
    ``TypeError`` that names ``name``: a malformed ``edge_index``, node ids out of range, a
    non-square matrix, NaN/Inf weights or no nodes.
    """
    import scipy.sparse as sp

    if hasattr(graph, "edge_index") and hasattr(graph, "num_nodes"):
        ei = graph.edge_index
        ei = ei.detach().cpu().numpy() if hasattr(ei, "detach") else np.asarray(ei)
        n = int(graph.num_nodes or 0)
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise ValueError(f"{name}.edge_index must have shape (2, E), got {ei.shape}")
        if ei.size and (ei.min() < 0 or ei.max() >= n):
            raise ValueError(f"{name}.edge_index holds node ids outside [0, {n})")
        w = getattr(graph, "edge_weight", None) if weighted else None
        if w is None:
            w = np.ones(ei.shape[1])
        else:
            w = np.asarray(w.detach().cpu().numpy() if hasattr(w, "detach") else w, dtype=np.float64).reshape(-1)
            if w.shape[0] != ei.shape[1]:
                raise ValueError(f"{name}.edge_weight has {w.shape[0]} entries for {ei.shape[1]} edges")
        A = sp.csr_matrix((w, (ei[0], ei[1])), shape=(n, n), dtype=np.float64)
    elif hasattr(graph, "adj") and hasattr(graph, "nodes"):  # networkx
        import networkx as nx

        A = sp.csr_matrix(nx.to_scipy_sparse_array(graph, nodelist=sorted(graph.nodes()), dtype=np.float64,
                                                   weight="weight" if weighted else None, format="csr"))
    elif sp.issparse(graph):
        if graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
            raise ValueError(f"{name}: an adjacency matrix must be square (n, n), got shape {graph.shape}")
        A = sp.csr_matrix(graph, dtype=np.float64)
    else:
        try:
            arr = np.asarray(graph, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a torch-geometric Data, a networkx graph or an adjacency matrix, "
                            f"got {type(graph).__name__}") from None
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"{name}: an adjacency matrix must be square (n, n), got shape {arr.shape}")
        A = sp.csr_matrix(arr)
    A.sum_duplicates()
    if A.shape[0] == 0:
        raise ValueError(f"{name} has no nodes")
    if A.nnz and not np.isfinite(A.data).all():
        raise ValueError(f"{name}: the adjacency matrix contains NaN or Inf values")
    if symmetric:
        A = (A + A.T).tocsr()
    if not weighted:
        A = (A != 0).astype(np.float64).tocsr()
    A.eliminate_zeros()
    return A


def backbone_params(backbone: str, params: dict[str, Any] | None = None, **inferred: Any) -> dict[str, Any]:
    """Parameters for a registered encoder that another encoder wraps (a subspace, a μP
    parametrization, ...): ``params`` as given, plus each of ``inferred`` (``in_features``,
    ``num_classes``, ... that a pipeline fills in for the wrapper) that is not ``None``, that the
    backbone accepts and that ``params`` does not set. Raises ``TypeError`` if ``params`` is not a
    dict and ``ValueError`` if ``backbone`` is not a registered encoder."""
    from .api import info

    if params is not None and not isinstance(params, dict):
        raise TypeError(f"backbone_params must be a dict, got {type(params).__name__}")
    meta = info(backbone)
    if meta.get("kind") != "encoder":
        raise ValueError(f"backbone must name a registered encoder, {backbone!r} is a {meta.get('kind', 'plugin')}")
    out = dict(params or {})
    for name, val in inferred.items():
        if val is not None and name in meta["params"] and name not in out:
            out[name] = val
    return out


def embed(model: Any, X: Any, data_type: str = "vector", *, batch_size: int = 256) -> np.ndarray:
    """A torch model's embedding of ``X`` — ``model.embed`` when it has one, else its forward —
    in eval mode without gradients, in batches of ``batch_size`` (``(n, d)`` float64; the first
    output of a model returning a tuple). One graph (``graph_nodes``) goes in whole; a vector
    encoder then sees its node features. The model's training mode is restored afterwards. For
    measures that take any registered encoder."""
    import torch

    from .pipeline.models import to_batch

    fn = model.embed if callable(getattr(model, "embed", None)) else model
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        with torch.no_grad():
            if data_type == "graph_nodes":
                vector = getattr(model, "input_type", "vector") in ("vector", "features")
                parts = [fn(X.x if vector and hasattr(X, "x") else X)]
            else:
                n = len(X)
                parts = [fn(to_batch(X, np.arange(i, min(n, i + batch_size)), data_type)) for i in range(0, n, batch_size)]
    finally:
        if was_training:
            model.train()
    parts = [p[0] if isinstance(p, (tuple, list)) else p for p in parts]
    return np.concatenate([p.detach().double().reshape(p.shape[0], -1).cpu().numpy() for p in parts])


def with_node_features(graph: Any, Z: Any, what: str = "output='graph_nodes'") -> Any:
    """A copy of the torch-geometric ``graph`` whose node features ``x`` are ``Z`` (float32): what a
    node descriptor returns with ``output='graph_nodes'``, so that later steps and models still see
    the graph's edges and masks. Anything but a ``Data``-like graph raises ``ValueError`` naming
    ``what``."""
    if not (hasattr(graph, "edge_index") and hasattr(graph, "clone")):
        raise ValueError(f"{what} needs a torch-geometric Data input (it returns the graph with the features as x)")
    import torch

    out = graph.clone()
    out.x = torch.as_tensor(Z, dtype=torch.float32)
    return out
