"""IRWE: inductive random-walk encoder of identity and position embeddings (Qin & Yeung, TMLR 2024).

Status: reconstructed from the paper's abstract; its method body (sections 3-4) could not be
read and no authors' code is available. What the abstract confirms: two embeddings per node --
identity (structural role) and position (community membership) -- inferred jointly and
inductively (new nodes, new graphs; no node attributes, no node ids) by multiple attention
units over random walks, with random-walk statistics as the inductive features. Everything
below marked [recon] is this plugin's standard-practice reconstruction, not the paper's:

* [recon] identity statistics ``s_v``: anonymous-walk distributions of ``v`` for walks of
  ``3..aw_length`` nodes (:mod:`.walks`), exact by dynamic programming or sampled;
* [recon] identity unit: a transformer over one token per anonymous walk ``a``,
  ``t_a = s_v(a) w_a + b_a`` (a feature tokenizer), mean-pooled and projected, plus a linear
  skip of ``s_v``: ``h_id(v)``;
* [recon] position unit: a transformer over ``walks_per_node`` uniform random walks from ``v``
  whose token at step ``t`` for the visited node ``u`` is ``W [h_id(u) ; r~(u)] + e_t``, with
  ``r~(u) = (1/T) sum_{t=1..T} (P^t r)(u)`` the random-walk visit distribution of ``u`` within
  ``T = signature_steps`` steps projected on random Gaussian node signatures ``r`` redrawn for
  every graph (and every training epoch): no node id is learned, so the unit applies to unseen
  graphs; mean over tokens and walks, projected to ``h_pos(v)``;
* [recon] joint objective ``L = L_pos + lambda L_id``: ``L_id`` the cross-entropy of the
  anonymous-walk distributions reconstructed from ``h_id`` (one softmax per walk length),
  ``L_pos`` skip-gram with negative sampling on random-walk co-occurrence within ``window``
  steps, scored by the cosine of position embeddings over a temperature; the identity unit
  feeds the position unit, so the two are optimised together.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import numbers
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field
from torch import nn

from geoatlas.interfaces import Descriptor, Encoder
from geoatlas.utils import with_node_features
from geoatlas.validation import PositiveFloat, PositiveInt

from .walks import (
    anonymous_walks,
    check_walk_nodes,
    exact_aw_distribution,
    exact_walk_count,
    graph_adjacency,
    random_walks,
    sampled_aw_distribution,
)

STATISTICS = ("auto", "exact", "sampled")
PARTS = ("both", "identity", "position")
OUTPUTS = ("features", "graph_nodes")
WalkNodes = Annotated[int, Field(ge=2, le=64)]
AWNodes = Annotated[int, Field(ge=3, le=7)]


def aw_statistics(A: sp.csr_matrix, aw_length: int, statistics: str = "auto", aw_samples: int = 2000,
                  max_exact_walks: int = 5_000_000, seed: int = 0) -> np.ndarray:
    """The identity statistics [recon]: the anonymous-walk distributions of every node for walks
    of ``3..aw_length`` nodes, side by side (``sum_l Bell(l - 1)`` columns). ``"exact"`` uses the
    dynamic programme, ``"sampled"`` ``aw_samples`` walks per node, ``"auto"`` the exact one when
    the number of walks is at most ``max_exact_walks``."""
    rng = np.random.default_rng(seed)
    parts = []
    for length in range(3, aw_length + 1):
        exact = statistics == "exact" or (statistics == "auto" and exact_walk_count(A, length) <= max_exact_walks)
        parts.append(exact_aw_distribution(A, length) if exact else sampled_aw_distribution(A, length, aw_samples, rng))
    return np.concatenate(parts, 1)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


def _check_float(name: str, value: Any, low: float, strict: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (strict and value == low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low}, got {value}")


class _Graph:
    """A graph prepared for IRWE: adjacency, identity statistics (cached per graph)."""

    def __init__(self, A: sp.csr_matrix, stats: np.ndarray) -> None:
        self.A, self.stats = A, torch.as_tensor(stats, dtype=torch.float32)
        self.n = A.shape[0]


class IRWE(Encoder):
    """IRWE node encoder [recon]: ``forward(X)`` returns ``[h_id | h_pos]`` per node.

    ``X`` is one graph (torch-geometric ``Data``, networkx graph, scipy sparse or square
    adjacency); node features are never read. ``fit(X)`` trains the encoder self-supervised on
    that graph (the joint objective in the module docstring); a trained encoder embeds any other
    graph without retraining (inductive). ``forward`` returns the concatenation
    ``[identity | position]`` of widths ``dim_identity`` and ``dim_position`` (``part="both"``),
    or one half (``part="identity"`` / ``"position"``); :meth:`identity` and :meth:`position`
    return each half regardless of ``part``.

    Parameters
    ----------
    dim_identity, dim_position : int
        Widths of the identity and position embeddings.
    aw_length : int
        Longest anonymous walk (nodes) of the identity statistics (3..7; 5 gives 2 + 5 + 15 = 22 features).
    walk_length : int
        Nodes per random walk of the position unit (>= 2).
    walks_per_node : int
        Random walks per node fed to the position unit (and per node for the co-occurrence pairs).
    window : int
        Skip-gram window (steps) for the co-occurrence pairs.
    negatives : int
        Negative samples per positive pair (uniform over nodes).
    signature_dim : int
        Width of the random node signatures ``r(u)``.
    signature_steps : int
        ``T``, the random-walk steps over which the signatures are averaged (``r~``).
    hidden, heads, layers : int
        Width, attention heads and transformer layers of each attention unit.
    identity_weight : float
        ``lambda``, the weight of the identity reconstruction loss.
    temperature : float
        Temperature of the cosine score of the skip-gram loss.
    epochs, lr : int, float
        Full-graph Adam steps of :meth:`fit` and their learning rate.
    statistics : str
        ``"auto"``, ``"exact"`` or ``"sampled"`` anonymous-walk distributions.
    aw_samples, max_exact_walks : int
        Walks per node of the sampled estimator; largest walk count for ``"auto"`` to stay exact.
    part : str
        What ``forward`` returns: ``"both"``, ``"identity"`` or ``"position"``.
    seed : int
        Seed of the initialisation, walks, signatures and negatives.
    """

    input_type: ClassVar[str] = "graph_nodes"
    output_space: ClassVar[str] = "euclidean"

    def __init__(self, dim_identity: PositiveInt = 32, dim_position: PositiveInt = 32, aw_length: AWNodes = 5,
                 walk_length: WalkNodes = 4, walks_per_node: PositiveInt = 8, window: PositiveInt = 3,
                 negatives: PositiveInt = 5, signature_dim: PositiveInt = 32, signature_steps: PositiveInt = 8, hidden: PositiveInt = 32,
                 heads: PositiveInt = 2, layers: PositiveInt = 1, identity_weight: float = 1.0,
                 temperature: PositiveFloat = 0.5, epochs: int = 100, lr: PositiveFloat = 5e-3,
                 statistics: Literal["auto", "exact", "sampled"] = "auto", aw_samples: PositiveInt = 2000,
                 max_exact_walks: PositiveInt = 5_000_000, part: Literal["both", "identity", "position"] = "both",
                 seed: int = 0) -> None:
        super().__init__()
        for name, v in (("dim_identity", dim_identity), ("dim_position", dim_position), ("walks_per_node", walks_per_node),
                        ("window", window), ("negatives", negatives), ("signature_dim", signature_dim), ("signature_steps", signature_steps), ("hidden", hidden),
                        ("heads", heads), ("layers", layers), ("aw_samples", aw_samples), ("max_exact_walks", max_exact_walks)):
            _check_int(name, v, 1)
        _check_int("aw_length", aw_length, 3)
        if aw_length > 7:
            raise ValueError(f"aw_length must be <= 7 (Bell(6) = 203 anonymous walks), got {aw_length}")
        check_walk_nodes(walk_length, "walk_length")
        _check_int("epochs", epochs, 0)
        _check_int("seed", seed, 0)
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be divisible by heads ({heads})")
        _check_float("identity_weight", identity_weight, 0.0, strict=False)
        _check_float("temperature", temperature, 0.0)
        _check_float("lr", lr, 0.0)
        _check_choice("statistics", statistics, STATISTICS)
        _check_choice("part", part, PARTS)
        self.dim_identity, self.dim_position, self.aw_length = int(dim_identity), int(dim_position), int(aw_length)
        self.walk_length, self.walks_per_node, self.window = int(walk_length), int(walks_per_node), int(window)
        self.negatives, self.signature_dim, self.identity_weight = int(negatives), int(signature_dim), float(identity_weight)
        self.temperature, self.epochs, self.lr = float(temperature), int(epochs), float(lr)
        self.statistics, self.aw_samples, self.max_exact_walks = statistics, int(aw_samples), int(max_exact_walks)
        self.part, self.seed, self.signature_steps = part, int(seed), int(signature_steps)
        self.sizes = [len(anonymous_walks(k)) for k in range(3, self.aw_length + 1)]
        K = sum(self.sizes)
        torch.manual_seed(self.seed)
        # identity unit: feature tokenizer over the K anonymous-walk probabilities
        self.tok_w = nn.Parameter(torch.randn(K, hidden) / math.sqrt(hidden))
        self.tok_b = nn.Parameter(torch.randn(K, hidden) / math.sqrt(hidden))
        self.id_unit = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(hidden, heads, 2 * hidden, dropout=0.0, batch_first=True), layers, enable_nested_tensor=False)
        self.id_out = nn.Linear(hidden, self.dim_identity)
        self.id_skip = nn.Linear(K, self.dim_identity, bias=False)
        self.id_dec = nn.Linear(self.dim_identity, K)
        # position unit: tokens [h_id(u) ; r(u)] + step embedding, over random walks
        self.pos_in = nn.Linear(self.dim_identity + self.signature_dim, hidden)
        self.step = nn.Parameter(torch.randn(self.walk_length, hidden) / math.sqrt(hidden))
        self.pos_unit = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(hidden, heads, 2 * hidden, dropout=0.0, batch_first=True), layers, enable_nested_tensor=False)
        self.pos_out = nn.Linear(hidden, self.dim_position)
        self.pos_skip = nn.Linear(self.signature_dim, self.dim_position, bias=False)
        self._cache: dict[str, _Graph] = {}
        self.history: list[float] = []

    # ------------------------------------------------------------------ graphs
    def prepare(self, X: Any) -> _Graph:
        """Adjacency and identity statistics of ``X`` (cached by the graph's edges)."""
        if isinstance(X, _Graph):
            return X
        A = graph_adjacency(X, "X")
        key = hashlib.sha1(A.indptr.tobytes() + A.indices.tobytes()).hexdigest()
        if key not in self._cache:
            if len(self._cache) > 8:
                self._cache.clear()
            stats = aw_statistics(A, self.aw_length, self.statistics, self.aw_samples, self.max_exact_walks, self.seed)
            self._cache[key] = _Graph(A, stats)
        return self._cache[key]

    def _signatures(self, g: _Graph, gen: torch.Generator) -> torch.Tensor:
        """Random-walk-smoothed random signatures [recon]: ``r~ = (1/T) sum_{t=1..T} P^t r`` with
        ``r ~ N(0, I)`` per node (``signature_dim`` columns), ``P = D^-1 A`` and
        ``T = signature_steps``: the expected signature of the nodes a random walk from ``u``
        visits within ``T`` steps (visit probabilities, projected), columns standardised."""
        r = torch.randn(g.n, self.signature_dim, generator=gen).double().numpy()
        deg = np.diff(g.A.indptr).astype(np.float64)
        P = sp.diags(1.0 / deg) @ g.A
        acc, cur = np.zeros_like(r), r
        for _ in range(self.signature_steps):
            cur = P @ cur
            acc += cur
        acc -= acc.mean(0)
        acc /= acc.std(0) + 1e-12
        return torch.as_tensor(acc, dtype=torch.float32)

    # ------------------------------------------------------------------ units
    def _identity(self, g: _Graph) -> torch.Tensor:
        tokens = g.stats[:, :, None] * self.tok_w[None] + self.tok_b[None]  # (n, K, hidden)
        return self.id_out(self.id_unit(tokens).mean(1)) + self.id_skip(g.stats)

    def _position(self, g: _Graph, h_id: torch.Tensor, walks: np.ndarray, sig: torch.Tensor) -> torch.Tensor:
        W = torch.as_tensor(walks)  # (n * r, L), rows grouped by start node
        tok = self.pos_in(torch.cat([h_id[W], sig[W]], -1)) + self.step[None, : W.shape[1]]
        z = self.pos_unit(tok).mean(1).view(g.n, -1, tok.shape[-1]).mean(1)
        skip = sig[W].mean(1).view(g.n, -1, sig.shape[-1]).mean(1)  # mean signature along the walks
        return self.pos_out(z) + self.pos_skip(skip)

    def _walks(self, g: _Graph, rng: np.random.Generator) -> np.ndarray:
        starts = np.repeat(np.arange(g.n), self.walks_per_node)
        return random_walks(g.A, starts, self.walk_length, rng)

    def embed(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h_id, h_pos)`` of every node of ``X`` (deterministic for a seed)."""
        g = self.prepare(X)
        rng = np.random.default_rng(self.seed + 1)
        gen = torch.Generator().manual_seed(self.seed + 1)
        h_id = self._identity(g)
        return h_id, self._position(g, h_id, self._walks(g, rng), self._signatures(g, gen))

    def identity(self, X: Any) -> torch.Tensor:
        """The ``(n, dim_identity)`` identity embeddings (structural roles)."""
        return self.embed(X)[0]

    def position(self, X: Any) -> torch.Tensor:
        """The ``(n, dim_position)`` position embeddings (community membership)."""
        return self.embed(X)[1]

    def forward(self, X: Any) -> torch.Tensor:
        h_id, h_pos = self.embed(X)
        if self.part == "identity":
            return h_id
        if self.part == "position":
            return h_pos
        return torch.cat([h_id, h_pos], 1)

    # ------------------------------------------------------------------ training
    def loss(self, g: _Graph, rng: np.random.Generator, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L_id, L_pos)`` of one full-graph step [recon]."""
        h_id = self._identity(g)
        logits = self.id_dec(h_id)
        l_id = logits.new_zeros(())
        o = 0
        for k in self.sizes:
            l_id = l_id - (g.stats[:, o:o + k] * torch.log_softmax(logits[:, o:o + k], 1)).sum(1).mean()
            o += k
        walks = self._walks(g, rng)
        z = nn.functional.normalize(self._position(g, h_id, walks, self._signatures(g, gen)), dim=1)
        src, dst = [], []
        for d in range(1, min(self.window, self.walk_length - 1) + 1):
            src.append(walks[:, :-d].ravel())
            dst.append(walks[:, d:].ravel())
        s, t = torch.as_tensor(np.concatenate(src)), torch.as_tensor(np.concatenate(dst))
        neg = torch.as_tensor(rng.integers(0, g.n, size=(len(s), self.negatives)))
        pos_score = (z[s] * z[t]).sum(1) / self.temperature
        neg_score = (z[s][:, None] * z[neg]).sum(2) / self.temperature
        l_pos = -(nn.functional.logsigmoid(pos_score).mean() + nn.functional.logsigmoid(-neg_score).sum(1).mean())
        return l_id, l_pos

    def fit(self, X: Any, y: Any = None) -> IRWE:
        """Self-supervised training on the graph ``X`` (``epochs`` full-graph Adam steps of
        ``L_pos + identity_weight * L_id``); labels ``y`` are ignored. Returns ``self``."""
        g = self.prepare(X)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        self.train()
        self.history = []
        with torch.enable_grad():
            self._train_steps(g, opt, rng, gen)
        self.eval()
        return self

    def _train_steps(self, g: _Graph, opt: torch.optim.Optimizer, rng: np.random.Generator, gen: torch.Generator) -> None:
        for _ in range(self.epochs):
            opt.zero_grad()
            l_id, l_pos = self.loss(g, rng, gen)
            total = l_pos + self.identity_weight * l_id
            total.backward()
            opt.step()
            self.history.append(float(total.detach()))


class IRWEDescriptor(Descriptor):
    """IRWE as a pipeline step [recon]: ``fit`` trains an :class:`IRWE` encoder on the graph
    (self-supervised, labels ignored), ``transform`` embeds any graph with it (inductive).

    ``part`` picks ``"identity"``, ``"position"`` or ``"both"`` (``[identity | position]``);
    ``standardize`` scales each column to zero mean and unit variance over the graph's nodes;
    ``output="graph_nodes"`` returns a copy of a torch-geometric ``Data`` whose ``x`` is the
    embedding (so later models see the graph's masks). Other parameters: see :class:`IRWE`.
    """

    input_type: ClassVar[str] = "graph_nodes"
    per_sample: ClassVar[bool] = False

    def __init__(self, dim_identity: PositiveInt = 32, dim_position: PositiveInt = 32, aw_length: AWNodes = 5,
                 walk_length: WalkNodes = 4, walks_per_node: PositiveInt = 8, window: PositiveInt = 3,
                 negatives: PositiveInt = 5, signature_dim: PositiveInt = 32, signature_steps: PositiveInt = 8, hidden: PositiveInt = 32,
                 heads: PositiveInt = 2, layers: PositiveInt = 1, identity_weight: float = 1.0,
                 temperature: PositiveFloat = 0.5, epochs: int = 100, lr: PositiveFloat = 5e-3,
                 statistics: Literal["auto", "exact", "sampled"] = "auto", aw_samples: PositiveInt = 2000,
                 max_exact_walks: PositiveInt = 5_000_000, part: Literal["both", "identity", "position"] = "both",
                 standardize: bool = True, output: Literal["features", "graph_nodes"] = "features", seed: int = 0) -> None:
        self.dim_identity, self.dim_position, self.aw_length = dim_identity, dim_position, aw_length
        if not isinstance(standardize, bool):
            raise TypeError(f"standardize must be a bool, got {type(standardize).__name__}")
        self.standardize = standardize
        self.walk_length, self.walks_per_node, self.window = walk_length, walks_per_node, window
        self.negatives, self.signature_dim, self.hidden = negatives, signature_dim, hidden
        self.signature_steps = signature_steps
        self.heads, self.layers, self.identity_weight = heads, layers, identity_weight
        self.temperature, self.epochs, self.lr = temperature, epochs, lr
        self.statistics, self.aw_samples, self.max_exact_walks = statistics, aw_samples, max_exact_walks
        self.part, self.output, self.seed = part, output, seed
        _check_choice("output", output, OUTPUTS)
        self._make()

    def _make(self) -> IRWE:
        return IRWE(**{k: getattr(self, k) for k in inspect.signature(IRWE).parameters})  # every encoder parameter

    @property
    def output_type(self) -> str:
        return "graph_nodes" if self.output == "graph_nodes" else "features"

    def fit(self, X: Any, y: Any = None) -> IRWEDescriptor:
        self.encoder_ = self._make().fit(X)
        return self

    def transform(self, X: Any) -> Any:
        enc = getattr(self, "encoder_", None)
        if enc is None:
            raise RuntimeError("IRWEDescriptor: call fit(X) before transform (the encoder trains on a graph)")
        with torch.no_grad():
            Z = enc(X).double().numpy()
        if self.standardize:
            Z = (Z - Z.mean(0)) / (Z.std(0) + 1e-12)
        return Z if self.output == "features" else with_node_features(X, Z)


class AnonymousWalks(Descriptor):
    """The identity statistics alone [recon as IRWE's features; Ivanov & Burnaev 2018 for the
    definition]: each node's anonymous-walk distributions for walks of ``3..aw_length`` nodes,
    exact (dynamic programme) or sampled. ``(n_nodes, sum_l Bell(l - 1))``; training-free."""

    input_type: ClassVar[str] = "graph_nodes"
    per_sample: ClassVar[bool] = False

    def __init__(self, aw_length: AWNodes = 5, statistics: Literal["auto", "exact", "sampled"] = "auto",
                 aw_samples: PositiveInt = 2000, max_exact_walks: PositiveInt = 5_000_000,
                 output: Literal["features", "graph_nodes"] = "features", seed: int = 0) -> None:
        self.aw_length, self.statistics, self.aw_samples = aw_length, statistics, aw_samples
        self.max_exact_walks, self.output, self.seed = max_exact_walks, output, seed
        _check_int("aw_length", aw_length, 3)
        _check_choice("statistics", statistics, STATISTICS)
        _check_choice("output", output, OUTPUTS)

    @property
    def output_type(self) -> str:
        return "graph_nodes" if self.output == "graph_nodes" else "features"

    def transform(self, X: Any) -> Any:
        A = graph_adjacency(X, "X")
        Z = aw_statistics(A, int(self.aw_length), self.statistics, int(self.aw_samples), int(self.max_exact_walks), int(self.seed))
        return Z if self.output == "features" else with_node_features(X, Z)
