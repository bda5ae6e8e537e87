"""Datasets that ship inside installed packages."""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import PositiveInt, Size


class SklearnDigits(Dataset):
    """scikit-learn's 8x8 handwritten digits, as images ``(N, 1, 8, 8)`` in [0, 1] or vectors."""

    data_type = "image"

    def __init__(self, as_images: bool = True, n_samples: Size | None = None) -> None:
        self.as_images = as_images
        self.n_samples = n_samples

    def load(self) -> DataBundle:
        from sklearn.datasets import load_digits

        d = load_digits()
        X = (d.images / 16.0).astype(np.float32)
        y = d.target.astype(np.int64)
        if self.n_samples is not None:
            if self.n_samples > len(X):
                raise ValueError(f"n_samples={self.n_samples} but sklearn's digits has only {len(X)} samples")
            X, y = X[: self.n_samples], y[: self.n_samples]
        if self.as_images:
            return DataBundle(X[:, None], y, "image", meta={"classes": list(range(10))})
        return DataBundle(X.reshape(len(X), -1), y, "vector", meta={"classes": list(range(10))})


class _SklearnTable(Dataset):
    data_type = "vector"
    _loader = ""

    def __init__(self, standardize: bool = True) -> None:
        self.standardize = standardize

    def load(self) -> DataBundle:
        import sklearn.datasets as skd

        d = getattr(skd, self._loader)()
        X = d.data.astype(np.float32)
        if self.standardize:
            X = (X - X.mean(0)) / X.std(0)
        return DataBundle(X, d.target.astype(np.int64), "vector", meta={"classes": list(d.target_names)})


class SklearnIris(_SklearnTable):
    _loader = "load_iris"


class SklearnWine(_SklearnTable):
    _loader = "load_wine"


class KarateClub(Dataset):
    """Zachary's karate club as one torch-geometric graph for node classification.

    ``source="networkx"`` gives the 2-faction split (club), ``"pyg"`` torch-geometric's
    4-community version. Node features are one-hot ids; ``labels_per_class`` nodes of each class
    are marked for training (the rest for testing).
    """

    data_type = "graph_nodes"

    def __init__(self, source: str = "pyg", labels_per_class: PositiveInt = 1, seed: int = 0) -> None:
        if source not in {"pyg", "networkx"}:
            raise ValueError(f"source must be 'pyg' or 'networkx', got {source!r}")
        self.source = source
        self.labels_per_class = labels_per_class
        self.seed = seed

    def load(self) -> DataBundle:
        import torch
        from torch_geometric.data import Data

        if self.source == "pyg":
            from torch_geometric.datasets import KarateClub as PyGKarate

            g = PyGKarate()[0]
            edge_index, y = g.edge_index, g.y
        else:
            import networkx as nx

            G = nx.karate_club_graph()
            edges = torch.tensor(list(G.edges()), dtype=torch.long).t()
            edge_index = torch.cat([edges, edges.flip(0)], 1)
            y = torch.tensor([0 if G.nodes[i]["club"] == "Mr. Hi" else 1 for i in G.nodes], dtype=torch.long)
        n = int(y.numel())
        rng = np.random.default_rng(self.seed)
        train = torch.zeros(n, dtype=torch.bool)
        for c in torch.unique(y).tolist():
            idx = np.flatnonzero(y.numpy() == c)
            train[rng.choice(idx, size=min(self.labels_per_class, len(idx)), replace=False)] = True
        data = Data(x=torch.eye(n), edge_index=edge_index, y=y, train_mask=train, test_mask=~train)
        return DataBundle(data, y.numpy(), "graph_nodes", meta={"num_classes": int(y.max()) + 1})
