"""A synthetic node-classification set whose given graph is missing or noisy (seeded)."""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset

__all__ = ["LatentSBMNodes"]


class LatentSBMNodes(Dataset):
    """Noisy node features over a hidden stochastic block model, with a missing or noisy graph.

    Nodes belong to ``num_classes`` blocks; features are ``mu_{y_i} + noise_std * eps_i`` with
    class means at distance ``class_sep`` scale, so single nodes are hard to classify but
    neighbourhoods of same-class nodes are not. The *hidden* graph is an SBM (``p_in``,
    ``p_out``). What the model is given depends on ``graph``:

    - ``"missing"``: no edges at all (latent graph inference must build the graph from features);
    - ``"noisy"``: the SBM edges with a fraction ``noise`` of them replaced by uniformly random edges;
    - ``"clean"``: the SBM edges.

    The hidden SBM edges are kept in ``meta["hidden_edge_index"]``.
    """

    data_type = "graph_nodes"

    def __init__(
        self,
        num_nodes: int = 300,
        num_classes: int = 3,
        num_features: int = 16,
        class_sep: float = 1.0,
        noise_std: float = 1.0,
        p_in: float = 0.08,
        p_out: float = 0.01,
        graph: str = "missing",
        noise: float = 0.7,
        train_per_class: int = 20,
        seed: int = 0,
    ) -> None:
        for name, v in (("num_nodes", num_nodes), ("num_classes", num_classes), ("num_features", num_features), ("train_per_class", train_per_class)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if num_classes * train_per_class >= num_nodes:
            raise ValueError("num_classes * train_per_class must be smaller than num_nodes")
        if graph not in ("missing", "noisy", "clean"):
            raise ValueError(f"graph must be 'missing', 'noisy' or 'clean', got {graph!r}")
        for name, v in (("p_in", p_in), ("p_out", p_out), ("noise", noise)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {v!r}")
        if not class_sep >= 0 or not noise_std > 0:
            raise ValueError("class_sep must be >= 0 and noise_std > 0")
        self.num_nodes, self.num_classes, self.num_features = num_nodes, num_classes, num_features
        self.class_sep, self.noise_std, self.p_in, self.p_out = class_sep, noise_std, p_in, p_out
        self.graph, self.noise, self.train_per_class, self.seed = graph, noise, train_per_class, seed

    def load(self) -> DataBundle:
        import torch
        from torch_geometric.data import Data

        rng = np.random.default_rng(self.seed)
        n, c = self.num_nodes, self.num_classes
        y = np.arange(n) % c
        rng.shuffle(y)
        mu = rng.normal(size=(c, self.num_features))
        mu *= self.class_sep / np.linalg.norm(mu, axis=1, keepdims=True)
        x = mu[y] + self.noise_std * rng.normal(size=(n, self.num_features))
        # hidden SBM, undirected, no self loops
        same = y[:, None] == y[None, :]
        prob = np.where(same, self.p_in, self.p_out)
        upper = np.triu(rng.random((n, n)) < prob, 1)
        src, dst = np.nonzero(upper)
        hidden = np.stack([src, dst])
        if self.graph == "missing":
            given = np.zeros((2, 0), dtype=np.int64)
        elif self.graph == "clean":
            given = hidden
        else:
            m = hidden.shape[1]
            swap = rng.random(m) < self.noise
            rnd = rng.integers(0, n, size=(2, int(swap.sum())))
            given = np.concatenate([hidden[:, ~swap], rnd], 1)
            given = given[:, given[0] != given[1]]

        def sym(e: np.ndarray) -> torch.Tensor:
            t = torch.as_tensor(e, dtype=torch.long)
            return torch.cat([t, t.flip(0)], 1)

        train = np.zeros(n, dtype=bool)
        for k in range(c):
            idx = np.flatnonzero(y == k)
            train[rng.choice(idx, size=self.train_per_class, replace=False)] = True
        yt = torch.as_tensor(y, dtype=torch.long)
        data = Data(
            x=torch.as_tensor(x, dtype=torch.float32),
            edge_index=sym(given),
            y=yt,
            train_mask=torch.as_tensor(train),
            test_mask=torch.as_tensor(~train),
        )
        meta = {"num_classes": c, "n_classes": c, "hidden_edge_index": sym(hidden), "graph": self.graph}
        return DataBundle(data, y, "graph_nodes", meta=meta)
