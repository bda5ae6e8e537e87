"""Link prediction on a knowledge graph or a plain graph, given as ``(head, relation, tail)`` triples.

Data: a ``"triples"`` dataset, ``X`` an ``(N, 3)`` integer array, ``meta["num_entities"]`` and
``meta["num_relations"]`` (inferred from the ids when absent); a plain graph is one relation
``0`` (the ``graph_edges`` dataset). ``meta["undirected"] = True`` marks a symmetric graph whose
edges are listed once: the task then trains on both directions and filters both.

Split: ``split.test`` of the distinct triples is held out as test positives, with no validation
part. A test triple whose head, tail or relation does not occur in the training part is moved
to training (the number moved is logged and reported as ``test_triples_moved_to_train``), so
every test entity has been seen.

Training: models map triples ``(B, 3)`` long to ``(B,)`` logits. Each positive gets
``negatives`` corruptions (head or tail, with probability 1/2 each, replaced by a uniformly
random *other* entity), drawn afresh every epoch from the trainer's seeded generator. The loss
(``bce`` unless the model names its own ``loss:``) receives the scores of the positives followed
by those of the negatives, ``outputs = cat([pos, neg_1, ..., neg_k])`` of length ``B (k + 1)``,
with ``batch["y"]`` the 1/0 labels, ``batch["x"]`` the scored triples and ``batch["negatives"] =
k`` (so a margin loss can ``outputs.view(k + 1, B)``). A model with its own
``training_step(x, y, loss_fn)`` and no ``loss:`` trains itself on the positive triples
(``y`` is None), e.g. a 1-vs-all scorer.

Evaluation: for each test triple the true tail is ranked among all entities as the tail of
``(h, r, .)`` and the true head among all entities as the head of ``(., r, t)`` (``rank``:
``both``, ``tail`` or ``head``), in the filtered setting (the other known true triples, train
and test, are left out of the candidates; ``filtered=False`` keeps them: the raw setting). Ties
count half (the expected rank under random tie-breaking), so a constant scorer gets the mean rank
``(n + 1) / 2``, never rank 1. Predictions: ``ranks`` (1-based), ``scores`` (probabilities of
the test positives followed by as many seeded corrupted negatives that are not known triples),
``labels`` (scores >= 0.5); truths ``{"scores": 1/0, "labels": 1/0, "ranks": None}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from geoatlas.interfaces import DataBundle, Loss, Task, TaskOutput

_RANK_SIDES = ("both", "tail", "head")
_CHUNK = 65536  # candidate triples scored per forward pass without ``score_all``


def as_triples(X: Any, what: str = "triples") -> np.ndarray:
    """``X`` as an ``(N, 3)`` int64 array of non-negative ids; clear errors otherwise."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{what} must be an (N, 3) array of (head, relation, tail) ids, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{what} contain NaN or Inf values")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{what} must hold integer ids, got non-integer values")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must be an integer array, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if len(arr) and arr.min() < 0:
        raise ValueError(f"{what} contain negative ids")
    return arr


def _keys(T: np.ndarray, n_ent: int, n_rel: int) -> np.ndarray:
    """One int64 key per triple."""
    return (T[:, 0] * n_rel + T[:, 1]) * n_ent + T[:, 2]


def _groups(keys: np.ndarray, values: np.ndarray) -> dict[int, np.ndarray]:
    """``{key: array of the values that share it}``."""
    if len(keys) == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    k, v = keys[order], values[order]
    uniq, start = np.unique(k, return_index=True)
    return dict(zip(uniq.tolist(), np.split(v, start[1:]), strict=True))


class KnownTriples:
    """The set of known true triples, for filtering candidates and negatives."""

    def __init__(self, triples: np.ndarray, num_entities: int, num_relations: int) -> None:
        self.n_ent, self.n_rel = num_entities, num_relations
        T = as_triples(triples)
        self.keys = np.unique(_keys(T, num_entities, num_relations))
        self.tails = _groups(T[:, 0] * num_relations + T[:, 1], T[:, 2])  # (h, r) -> tails
        self.heads = _groups(T[:, 2] * num_relations + T[:, 1], T[:, 0])  # (t, r) -> heads

    def contains(self, T: np.ndarray) -> np.ndarray:
        return np.isin(_keys(T, self.n_ent, self.n_rel), self.keys)

    def others(self, triple: np.ndarray, side: str) -> np.ndarray:
        """Entities ``e`` such that putting ``e`` on ``side`` of ``triple`` gives a known triple."""
        h, r, t = (int(v) for v in triple)
        if side == "tail":
            return self.tails.get(h * self.n_rel + r, np.empty(0, np.int64))
        return self.heads.get(t * self.n_rel + r, np.empty(0, np.int64))


def candidate_scores(model: Any, queries: np.ndarray, side: str, num_entities: int) -> np.ndarray:
    """``(B, num_entities)`` scores of each query triple with its ``side`` entity replaced by every
    entity: the model's ``score_all(triples, side)`` where it has one, else the model applied to
    all candidate triples in chunks."""
    model.eval()
    with torch.no_grad():
        q = torch.as_tensor(queries, dtype=torch.long)
        if callable(getattr(model, "score_all", None)):
            out = model.score_all(q, side)
            return out.detach().double().cpu().numpy().reshape(len(queries), num_entities)
        col = 2 if side == "tail" else 0
        ents = torch.arange(num_entities)
        step = max(1, _CHUNK // num_entities)
        rows = []
        for i in range(0, len(q), step):
            block = q[i : i + step]
            cand = block.repeat_interleave(num_entities, 0)
            cand[:, col] = ents.repeat(len(block))
            rows.append(model(cand).reshape(len(block), num_entities))
        return torch.cat(rows).double().cpu().numpy() if rows else np.zeros((0, num_entities))


def ranks_from_scores(scores: np.ndarray, queries: np.ndarray, side: str, known: KnownTriples | None) -> np.ndarray:
    """1-based ranks of each query's true entity among all entities, from the ``(B, n)`` candidate
    scores; with ``known``, the other known true triples are left out (filtered setting). Ties
    count half: ``rank = 1 + #greater + #tied / 2``."""
    if not np.isfinite(scores).all():
        raise ValueError("the model returned NaN or Inf scores")
    col = 2 if side == "tail" else 0
    out = np.empty(len(queries), dtype=np.float64)
    for i, trip in enumerate(queries):
        s = scores[i]
        target = int(trip[col])
        keep = np.ones(len(s), dtype=bool)
        if known is not None:
            keep[known.others(trip, side)] = False
        keep[target] = False
        true = s[target]
        greater = int(np.count_nonzero(s[keep] > true))
        tied = int(np.count_nonzero(s[keep] == true))
        out[i] = 1.0 + greater + tied / 2.0
    return out


def filtered_ranks(model: Any, queries: np.ndarray, side: str, num_entities: int, known: KnownTriples | None) -> np.ndarray:
    """Ranks of the true ``side`` entity of each query triple (see :func:`ranks_from_scores`)."""
    queries = as_triples(queries, "queries")
    step = max(1, (4 * _CHUNK) // num_entities)
    parts = [ranks_from_scores(candidate_scores(model, queries[i : i + step], side, num_entities), queries[i : i + step], side, known)
             for i in range(0, len(queries), step)]
    return np.concatenate(parts) if parts else np.zeros(0)


def corrupt(triples: torch.Tensor, num_entities: int, generator: torch.Generator) -> torch.Tensor:
    """Each triple with its head or its tail (probability 1/2) replaced by a uniformly random
    other entity."""
    B = len(triples)
    head = torch.rand(B, generator=generator) < 0.5
    shift = torch.randint(1, num_entities, (B,), generator=generator)
    out = triples.clone()
    col = torch.where(head, 0, 2)
    rows = torch.arange(B)
    out[rows, col] = (triples[rows, col] + shift) % num_entities
    return out


class NegativeSampling(Loss):
    """Wraps a loss: the trainer's views are ``[positives, negatives_1, ..., negatives_k]`` and
    the wrapped loss sees their concatenated scores with 1/0 labels (see the module docstring)."""

    requires = ()

    def __init__(self, inner: Loss, negatives: int) -> None:
        super().__init__()
        self.inner = inner
        self.negatives = negatives

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        outs = [o.reshape(-1) for o in outputs]
        B = len(outs[0])
        scores = torch.cat(outs)
        y = torch.cat([torch.ones(B), torch.zeros(B * self.negatives)]).to(scores.dtype)
        inner = {k: v for k, v in batch.items() if k != "views"}
        inner["x"] = torch.cat(list(batch["views"]))
        inner["y"] = y
        inner["negatives"] = self.negatives
        if "index" in batch:
            inner["index"] = batch["index"].repeat(self.negatives + 1)
        return self.inner(scores, inner)

    def on_epoch_end(self, epoch: int) -> None:
        self.inner.on_epoch_end(epoch)


class LinkPrediction(Task):
    """Held-out edges of a graph or triples of a knowledge graph, ranked among all entities.

    Parameters
    ----------
    negatives : int
        Corrupted triples per positive in training (fresh every epoch).
    rank : str
        Which entity of a test triple is ranked: ``"both"`` (tail and head, the usual
        knowledge-graph protocol), ``"tail"`` or ``"head"``.
    filtered : bool
        Leave the other known true triples out of the candidates (the filtered setting, default)
        or keep them (raw).
    """

    data_types = ("triples",)
    dataset_tasks = ("link_prediction",)
    default_metrics = ("mrr", "hits_at_10", "roc_auc")
    default_loss = "bce"
    uses_labels = True
    model_kinds = ("encoder",)
    inferred = ("num_entities", "num_relations")

    def __init__(self, negatives: int = 1, rank: str = "both", filtered: bool = True) -> None:
        if isinstance(negatives, bool) or not isinstance(negatives, int):
            raise TypeError(f"negatives must be an integer, got {type(negatives).__name__}")
        if negatives < 1:
            raise ValueError(f"negatives must be >= 1, got {negatives}")
        if rank not in _RANK_SIDES:
            raise ValueError(f"rank must be one of {', '.join(_RANK_SIDES)}, got {rank!r}")
        if not isinstance(filtered, bool):
            raise TypeError(f"filtered must be a bool, got {type(filtered).__name__}")
        self.negatives, self.rank, self.filtered = negatives, rank, filtered

    # ------------------------------------------------------------------ split
    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        T = as_triples(bundle.X, "the dataset's triples")
        meta = bundle.meta
        n_ent = int(meta.get("num_entities") or (int(T[:, [0, 2]].max()) + 1 if len(T) else 0))
        n_rel = int(meta.get("num_relations") or (int(T[:, 1].max()) + 1 if len(T) else 0))
        if len(T) and (T[:, [0, 2]].max() >= n_ent or T[:, 1].max() >= n_rel):
            raise ValueError(f"the triples hold ids beyond num_entities={n_ent} / num_relations={n_rel} of the dataset's meta")
        if n_ent < 2:
            raise ValueError("link prediction needs at least 2 entities")
        undirected = bool(meta.get("undirected", False))
        if undirected:
            swap = T[:, 0] > T[:, 2]
            T = T.copy()
            T[swap] = T[swap][:, ::-1]
        _, first = np.unique(T, axis=0, return_index=True)
        first = np.sort(first)
        n_dup = len(T) - len(first)
        T = T[first]
        if len(T) < 2:
            raise ValueError(f"link prediction needs at least 2 distinct triples, got {len(T)}")
        test_frac = float(getattr(split, "test", split if isinstance(split, float) else 0.25))
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(T))
        n_test = min(len(T) - 1, max(1, int(round(test_frac * len(T)))))
        test_idx, train_idx = perm[:n_test], perm[n_test:]
        seen_e = np.zeros(n_ent, dtype=bool)
        seen_r = np.zeros(n_rel, dtype=bool)
        seen_e[T[train_idx][:, [0, 2]].ravel()] = True
        seen_r[T[train_idx][:, 1]] = True
        keep, moved = [], []
        for i in test_idx.tolist():
            h, r, t = T[i]
            if seen_e[h] and seen_e[t] and seen_r[r]:
                keep.append(i)
            else:
                moved.append(i)
                seen_e[[h, t]] = True
                seen_r[r] = True
        if not keep:
            raise ValueError("no test triple has all its entities in the training part; use a larger graph or a smaller split.test")
        idx_tr = np.concatenate([train_idx, np.asarray(moved, dtype=np.int64)])
        idx_te = np.asarray(keep, dtype=np.int64)
        meta.setdefault("num_entities", n_ent)
        meta.setdefault("num_relations", n_rel)
        return {"X_train": T[idx_tr], "X_test": T[idx_te], "y_train": None, "y_test": None,
                "n_train": len(idx_tr), "n_test": len(idx_te), "index_train": idx_tr, "index_test": idx_te,
                "num_entities": n_ent, "num_relations": n_rel, "undirected": undirected,
                "n_moved": len(moved), "n_duplicates": n_dup}

    def inferred_params(self, data: dict[str, Any], bundle: DataBundle) -> dict[str, Any]:
        return {"num_entities": int(data.get("num_entities", bundle.meta.get("num_entities"))),
                "num_relations": int(data.get("num_relations", bundle.meta.get("num_relations")))}

    # ------------------------------------------------------------------ fit
    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        if data["data_type"] != "triples":
            raise ValueError(f"link prediction needs triples, but the feature steps made {data['data_type']!r} data; remove the steps")
        n_ent, n_rel = int(data["num_entities"]), int(data["num_relations"])
        train = as_triples(data["X_train"], "training triples")
        test = as_triples(data["X_test"], "test triples")
        undirected = bool(data.get("undirected", False))
        if data.get("n_moved"):
            ctx.log(f"link_prediction: moved {data['n_moved']} test triples with entities unseen in training to the training part")
        if data.get("n_duplicates"):
            ctx.log(f"link_prediction: dropped {data['n_duplicates']} duplicate triples")
        pos = np.concatenate([train, train[:, ::-1]]) if undirected else train
        pos = np.ascontiguousarray(pos)
        enc = ctx.build_encoder(model, data)
        _probe(enc, model.encoder, pos[:2])
        own_step = callable(getattr(enc, "training_step", None)) and model.loss is None
        if own_step:
            trainer = ctx.train(label, enc, pos, None, data_type="triples", targets=None, loss=None, train=ctx.train_spec(model))
        else:
            inner = ctx.make_loss(model.loss, self.default_loss)
            k = self.negatives

            def views(xb: torch.Tensor, gen: torch.Generator) -> list[torch.Tensor]:
                return [xb] + [corrupt(xb, n_ent, gen) for _ in range(k)]

            trainer = ctx.train(label, enc, pos, None, data_type="triples", targets=None, loss=NegativeSampling(inner, k),
                                train=ctx.train_spec(model), views=views)
        everything = np.concatenate([train, test])
        if undirected:
            everything = np.concatenate([everything, everything[:, ::-1]])
        known = KnownTriples(everything, n_ent, n_rel)
        filt = known if self.filtered else None
        seed = ctx.seed
        cache: dict[bytes, dict[str, Any]] = {}
        truths: dict[bytes, dict[str, Any]] = {}

        def evaluate(X: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            Q = as_triples(X, "test triples")
            key = Q.tobytes()
            if key not in cache:
                if len(Q) and (Q[:, [0, 2]].max() >= n_ent or Q[:, 1].max() >= n_rel):
                    raise ValueError(f"test triples hold ids beyond num_entities={n_ent} / num_relations={n_rel}")
                sides = ("tail", "head") if self.rank == "both" else (self.rank,)
                ranks = np.concatenate([filtered_ranks(enc, Q, s, n_ent, filt) for s in sides])
                neg = negatives_for(Q, n_ent, known, seed)
                logits = _scores(enc, np.concatenate([Q, neg]))
                if not np.isfinite(logits).all():
                    raise ValueError("the model returned NaN or Inf scores")
                probs = 1.0 / (1.0 + np.exp(-logits))
                lab = np.concatenate([np.ones(len(Q)), np.zeros(len(neg))]).astype(np.int64)
                cache[key] = {"ranks": ranks, "scores": probs, "labels": (probs >= 0.5).astype(np.int64)}
                truths[key] = {"ranks": None, "scores": lab, "labels": lab}
            return cache[key], truths[key]

        pred, truth = evaluate(test)
        extra: dict[str, Any] = {"test_triples_moved_to_train": int(data.get("n_moved", 0))}
        names = ctx.bundle.meta.get("relation_names") if getattr(ctx, "bundle", None) is not None else None
        if n_rel > 1:
            reps = len(pred["ranks"]) // len(test)
            rel = np.tile(test[:, 1], reps)
            per = {}
            for r in np.unique(rel).tolist():
                name = names[r] if names is not None and r < len(names) else str(r)
                per[name] = round(float(np.mean(1.0 / pred["ranks"][rel == r])), 6)
            extra["mrr_per_relation"] = per

        def predict(X: Any) -> dict[str, Any]:
            return evaluate(X)[0]

        return TaskOutput(enc, predict, truth, trainer.history, extra)


def _probe(enc: Any, name: str, sample: np.ndarray) -> None:
    """Fail early, and clearly, when a model does not map triples ``(B, 3)`` to ``(B,)`` scores."""
    try:
        with torch.no_grad():
            out = enc(torch.as_tensor(sample, dtype=torch.long))
    except Exception as exc:
        raise ValueError(f"encoder {name!r} cannot score a batch of triples (B, 3) long: {type(exc).__name__}: {exc}. "
                         "A link-prediction model maps triples to (B,) logits (e.g. distmult, node_embedding).") from exc
    if not isinstance(out, torch.Tensor) or out.reshape(-1).shape[0] != len(sample):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"encoder {name!r} must map triples (B, 3) to (B,) scores, but gave {shape} for B={len(sample)}")


def _scores(enc: Any, T: np.ndarray, batch: int = _CHUNK) -> np.ndarray:
    enc.eval()
    with torch.no_grad():
        t = torch.as_tensor(T, dtype=torch.long)
        return torch.cat([enc(t[i : i + batch]).reshape(-1) for i in range(0, len(t), batch)]).double().numpy() if len(t) else np.zeros(0)


def negatives_for(Q: np.ndarray, num_entities: int, known: KnownTriples, seed: int, tries: int = 50) -> np.ndarray:
    """One corrupted triple per row of ``Q`` that is not a known triple (resampled up to ``tries``
    times; a row whose every corruption is known keeps its last draw)."""
    gen = torch.Generator().manual_seed(int(seed) * 7 + 424242)
    base = torch.as_tensor(Q, dtype=torch.long)
    neg = corrupt(base, num_entities, gen).numpy()
    for _ in range(tries):
        bad = known.contains(neg)
        if not bad.any():
            break
        neg[bad] = corrupt(base[torch.as_tensor(bad)], num_entities, gen).numpy()
    return neg

