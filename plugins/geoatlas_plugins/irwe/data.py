"""A role-labelled synthetic graph for identity embeddings: a ring of houses."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import PositiveInt

#: role names, in label order
ROLES = ("ring", "anchor", "house_door", "house_side", "house_eave_door", "house_eave_side", "house_roof")


class HouseRing(Dataset):
    """A cycle of ``ring_size`` nodes with a "house" (networkx's 5-node house graph) hung from
    every ``spacing``-th ring node by an edge to the house's node 0, plus ``extra_edges`` random
    edges; nodes shuffled. Labels are structural roles (the standard role-discovery benchmark
    construction, as in RolX / struc2vec / GraphWave): 0 ring node, 1 anchor (ring node with a
    house), 2..6 the five house positions (door, side, eave above the door, eave above the side,
    roof). Roles are defined on the clean graph; ``extra_edges`` perturbs it. Node features are
    constant ones (identity embeddings must come from the topology). ``labels_per_class`` nodes
    of each role are marked for training."""

    data_type = "graph_nodes"

    def __init__(self, ring_size: Annotated[int, Field(ge=3, le=5000)] = 60, spacing: PositiveInt = 3,
                 extra_edges: Annotated[int, Field(ge=0)] = 0, labels_per_class: PositiveInt = 5, seed: int = 0) -> None:
        if spacing > ring_size:
            raise ValueError(f"spacing ({spacing}) must be <= ring_size ({ring_size})")
        self.ring_size, self.spacing, self.extra_edges = ring_size, spacing, extra_edges
        self.labels_per_class, self.seed = labels_per_class, seed

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edges (E, 2) undirected, labels (n,))`` after shuffling the nodes."""
        rng = np.random.default_rng(self.seed)
        n_ring = self.ring_size
        edges = [(i, (i + 1) % n_ring) for i in range(n_ring)]
        label = [0] * n_ring
        house = [(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (3, 4)]  # networkx.house_graph()
        house_role = [2, 3, 4, 5, 6]
        for a in range(0, n_ring, self.spacing):
            label[a] = 1
            base = len(label)
            label += house_role
            edges.append((a, base))
            edges += [(base + u, base + v) for u, v in house]
        n = len(label)
        E = {(min(e), max(e)) for e in edges}
        while len(E) < len(edges) + self.extra_edges:
            u, v = rng.integers(0, n, 2)
            if u != v:
                E.add((int(min(u, v)), int(max(u, v))))
        perm = rng.permutation(n)  # old id -> new id
        y = np.empty(n, dtype=np.int64)
        y[perm] = label
        e = perm[np.array(sorted(E), dtype=np.int64)]
        return e, y

    def load(self) -> DataBundle:
        import torch
        from torch_geometric.data import Data

        e, y = self.graph()
        n = len(y)
        ei = torch.from_numpy(np.concatenate([e.T, e.T[::-1]], 1).copy())
        rng = np.random.default_rng(self.seed + 1)
        train = np.zeros(n, dtype=bool)
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            train[rng.choice(idx, size=min(self.labels_per_class, len(idx)), replace=False)] = True
        data = Data(x=torch.ones(n, 1), edge_index=ei, y=torch.from_numpy(y), num_nodes=n,
                    train_mask=torch.from_numpy(train), test_mask=torch.from_numpy(~train))
        return DataBundle(data, y, "graph_nodes", meta={"num_classes": int(y.max()) + 1, "roles": list(ROLES)})
