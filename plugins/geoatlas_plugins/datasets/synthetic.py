"""Synthetic generators (deterministic under ``seed``)."""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import Fraction, NonNegativeFloat, PositiveFloat, PositiveInt, Size


def _check_positive(**kwargs: int) -> None:
    for k, v in kwargs.items():
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{k} must be a positive integer, got {v!r}")


def _random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def sample_shape(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points on the surface of a named 3-D shape, centred, of unit scale."""
    u, v = rng.random(n), rng.random(n)
    if kind == "sphere":
        p = rng.normal(size=(n, 3))
        return p / np.linalg.norm(p, axis=1, keepdims=True)
    if kind == "torus":
        a, b = 2 * np.pi * u, 2 * np.pi * v
        R, r = 0.7, 0.3
        return np.stack([(R + r * np.cos(b)) * np.cos(a), (R + r * np.cos(b)) * np.sin(a), r * np.sin(b)], 1)
    if kind == "cube":
        p = rng.uniform(-1, 1, size=(n, 3))
        face = rng.integers(0, 3, n)
        p[np.arange(n), face] = np.sign(rng.uniform(-1, 1, n))
        return 0.6 * p
    if kind == "cylinder":
        a = 2 * np.pi * u
        return np.stack([0.5 * np.cos(a), 0.5 * np.sin(a), 2 * v - 1], 1)
    if kind == "cone":
        a, h = 2 * np.pi * u, np.sqrt(v)
        return np.stack([0.6 * h * np.cos(a), 0.6 * h * np.sin(a), 1.2 * (0.5 - h)], 1)
    if kind == "ellipsoid":
        p = rng.normal(size=(n, 3))
        p /= np.linalg.norm(p, axis=1, keepdims=True)
        return p * np.array([1.0, 0.6, 0.3])
    if kind == "plane":
        return np.stack([2 * u - 1, 2 * v - 1, np.zeros(n)], 1)
    raise ValueError(f"unknown shape {kind!r}")


SHAPES = ("sphere", "cube", "cylinder", "cone", "torus", "ellipsoid")


class Shapes3D(Dataset):
    """Point clouds of 3-D shapes; class = shape. ``rotate=True`` applies Haar-random rotations.

    Shapes are anisotropic (cylinder, cone, ellipsoid, ...), so orientation is informative for a
    non-invariant model trained on unrotated data, which is what the rotation experiments need.
    """

    data_type = "point_cloud"

    def __init__(
        self,
        n_per_class: Size = 40,
        n_points: Size = 64,
        shapes: list[str] | None = None,
        rotate: bool = False,
        noise: NonNegativeFloat = 0.01,
        seed: int = 0,
    ) -> None:
        _check_positive(n_per_class=n_per_class, n_points=n_points)
        shapes = list(shapes) if shapes is not None else list(SHAPES)
        for s in shapes:
            if s not in SHAPES + ("plane",):
                raise ValueError(f"unknown shape {s!r}; choose from {', '.join(SHAPES + ('plane',))}")
        self.n_per_class, self.n_points, self.shapes = n_per_class, n_points, shapes
        self.rotate, self.noise, self.seed = rotate, noise, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        X, y = [], []
        for label, kind in enumerate(self.shapes):
            for _ in range(self.n_per_class):
                X.append(sample_shape(kind, self.n_points, rng) + self.noise * rng.normal(size=(self.n_points, 3)))
                y.append(label)
        Xa = np.stack(X).astype(np.float32)
        if self.rotate:
            Xa = np.einsum("nij,npj->npi", _random_rotations(len(Xa), rng), Xa).astype(np.float32)
        perm = rng.permutation(len(Xa))
        return DataBundle(Xa[perm], np.asarray(y, dtype=np.int64)[perm], "point_cloud", meta={"classes": self.shapes})


class ManifoldSamples(Dataset):
    """Point clouds sampled from a sphere, a torus or a plane patch (class = which), with noise.

    ``outliers`` adds that fraction of uniform background points (used to break single-parameter
    persistence in the multiparameter-persistence examples).
    """

    data_type = "point_cloud"

    def __init__(
        self,
        n_per_class: Size = 30,
        n_points: Size = 100,
        manifolds: list[str] | None = None,
        noise: NonNegativeFloat = 0.05,
        outliers: Fraction = 0.0,
        seed: int = 0,
    ) -> None:
        _check_positive(n_per_class=n_per_class, n_points=n_points)
        if not 0 <= outliers < 1:
            raise ValueError(f"outliers must be a fraction in [0, 1), got {outliers}")
        self.n_per_class, self.n_points = n_per_class, n_points
        self.manifolds = list(manifolds) if manifolds is not None else ["sphere", "torus", "plane"]
        self.noise, self.outliers, self.seed = noise, outliers, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        X, y = [], []
        n_out = int(round(self.outliers * self.n_points))
        for label, kind in enumerate(self.manifolds):
            for _ in range(self.n_per_class):
                pts = sample_shape(kind, self.n_points - n_out, rng) + self.noise * rng.normal(size=(self.n_points - n_out, 3))
                if n_out:
                    pts = np.concatenate([pts, rng.uniform(-1.2, 1.2, size=(n_out, 3))])
                X.append(pts)
                y.append(label)
        perm = rng.permutation(len(X))
        Xa = np.stack(X).astype(np.float32)[perm]
        return DataBundle(Xa, np.asarray(y, dtype=np.int64)[perm], "point_cloud", meta={"classes": self.manifolds})


FAMILIES = ("sbm", "random_geometric", "erdos_renyi", "barabasi_albert")


class GraphFamilies(Dataset):
    """Graphs from random graph families; class = family. Node features: degree and a constant.

    Edge densities are matched across families (about ``avg_degree``), so degree alone does not
    give the class away. Random geometric graphs carry ``pos``.
    """

    data_type = "graph"

    def __init__(
        self,
        n_per_class: Size = 30,
        n_nodes: Size = 30,
        families: list[str] | None = None,
        avg_degree: PositiveFloat = 4.0,
        seed: int = 0,
    ) -> None:
        _check_positive(n_per_class=n_per_class, n_nodes=n_nodes)
        fams = list(families) if families is not None else list(FAMILIES)
        for f in fams:
            if f not in FAMILIES:
                raise ValueError(f"unknown graph family {f!r}; choose from {', '.join(FAMILIES)}")
        self.n_per_class, self.n_nodes, self.families = n_per_class, n_nodes, fams
        self.avg_degree, self.seed = avg_degree, seed

    def _graph(self, fam: str, rng: np.random.Generator):
        import networkx as nx

        n, k = self.n_nodes, self.avg_degree
        s = int(rng.integers(0, 2**31 - 1))
        if fam == "sbm":
            sizes = [n // 2, n - n // 2]
            p_in, p_out = 1.6 * k / n, 0.4 * k / n
            return nx.stochastic_block_model(sizes, [[p_in, p_out], [p_out, p_in]], seed=s)
        if fam == "random_geometric":
            r = np.sqrt(k / (np.pi * n))
            return nx.random_geometric_graph(n, r, seed=s)
        if fam == "erdos_renyi":
            return nx.gnp_random_graph(n, k / (n - 1), seed=s)
        return nx.barabasi_albert_graph(n, max(1, int(round(k / 2))), seed=s)

    def load(self) -> DataBundle:
        import torch
        from torch_geometric.data import Data

        rng = np.random.default_rng(self.seed)
        graphs, y = [], []
        for label, fam in enumerate(self.families):
            for _ in range(self.n_per_class):
                G = self._graph(fam, rng)
                edges = np.array(list(G.edges()), dtype=np.int64).reshape(-1, 2).T
                ei = torch.from_numpy(np.concatenate([edges, edges[::-1]], 1).copy())
                deg = np.bincount(ei[0].numpy(), minlength=self.n_nodes).astype(np.float32)
                x = torch.from_numpy(np.stack([deg, np.ones_like(deg)], 1))
                d = Data(x=x, edge_index=ei, y=torch.tensor([label]), num_nodes=self.n_nodes)
                if fam == "random_geometric":
                    d.pos = torch.tensor(np.array([G.nodes[i]["pos"] for i in G.nodes]), dtype=torch.float32)
                graphs.append(d)
                y.append(label)
        perm = rng.permutation(len(graphs))
        return DataBundle([graphs[i] for i in perm], np.asarray(y, dtype=np.int64)[perm], "graph", meta={"classes": self.families})


class HyperbolicTree(Dataset):
    """A balanced tree (``branching``^``depth`` leaves); node label = its top-level subtree.

    Trees embed with low distortion in hyperbolic space and not in Euclidean space of low
    dimension, so this is the standard sanity check for hyperbolic embeddings.
    """

    data_type = "graph_nodes"

    def __init__(self, branching: PositiveInt = 3, depth: PositiveInt = 4, labels_per_class: PositiveInt = 3, seed: int = 0) -> None:
        _check_positive(branching=branching, depth=depth)
        if branching ** depth > 50_000:
            raise ValueError("tree too large (branching**depth > 50000)")
        self.branching, self.depth, self.labels_per_class, self.seed = branching, depth, labels_per_class, seed

    def load(self) -> DataBundle:
        import networkx as nx
        import torch
        from torch_geometric.data import Data

        G = nx.balanced_tree(self.branching, self.depth)
        n = G.number_of_nodes()
        label = np.zeros(n, dtype=np.int64)
        for c, child in enumerate(G.neighbors(0)):
            for node in nx.dfs_preorder_nodes(nx.bfs_tree(G, 0), child):
                label[node] = c
        edges = np.array(list(G.edges()), dtype=np.int64).T
        ei = torch.from_numpy(np.concatenate([edges, edges[::-1]], 1).copy())
        rng = np.random.default_rng(self.seed)
        train = np.zeros(n, dtype=bool)
        for c in range(self.branching):
            idx = np.flatnonzero(label == c)
            train[rng.choice(idx, size=min(self.labels_per_class, len(idx)), replace=False)] = True
        depth = np.array([nx.shortest_path_length(G, 0, i) for i in range(n)], dtype=np.float32)
        data = Data(
            x=torch.eye(n),
            edge_index=ei,
            y=torch.from_numpy(label),
            depth=torch.from_numpy(depth),
            train_mask=torch.from_numpy(train),
            test_mask=torch.from_numpy(~train),
        )
        return DataBundle(data, label, "graph_nodes", meta={"num_classes": self.branching})
