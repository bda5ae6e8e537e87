"""The link_prediction task: filtered ranks equal a brute-force count, the split keeps every test
entity seen in training, DistMult learns a symmetric relation, negative sampling's layout, clear
errors for bad parameters and specs."""

import math
import sys
import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas import hookimpl, plugins
from geoatlas.errors import SpecError
from geoatlas.interfaces import DataBundle, Encoder, Loss
from geoatlas.pipeline.spec import SplitSpec
from geoatlas.testing.kinds import check_task
from geoatlas_plugins.tasks.link_prediction import (
    KnownTriples,
    NegativeSampling,
    corrupt,
    filtered_ranks,
    negatives_for,
)


class _Table(torch.nn.Module):
    """score(h, r, t) = table[h, r, t]."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.as_tensor(table, dtype=torch.float64)

    def forward(self, T):
        return self.table[T[:, 0], T[:, 1], T[:, 2]]


class _TableAll(_Table):
    def score_all(self, T, side):
        return self.table[T[:, 0], T[:, 1], :] if side == "tail" else self.table[:, T[:, 1], T[:, 2]].T


def _brute_rank(table, known, trip, side, filtered):
    h, r, t = (int(v) for v in trip)
    true, rank = table[h, r, t], 1.0
    for e in range(table.shape[0]):
        cand = (h, r, e) if side == "tail" else (e, r, t)
        if cand == (h, r, t) or (filtered and cand in known):
            continue
        rank += 1.0 if table[cand] > true else 0.5 if table[cand] == true else 0.0
    return rank


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), n_ent=st.integers(2, 8), n_rel=st.integers(1, 3), levels=st.integers(1, 4))
def test_filtered_ranks_equal_brute_force(seed, n_ent, n_rel, levels):
    rng = np.random.default_rng(seed)
    table = rng.integers(0, levels, size=(n_ent, n_rel, n_ent)).astype(float)  # few levels: many ties
    T = np.unique(np.column_stack([rng.integers(0, n_ent, 12), rng.integers(0, n_rel, 12), rng.integers(0, n_ent, 12)]), axis=0)
    known = KnownTriples(T, n_ent, n_rel)
    known_set = {tuple(int(v) for v in row) for row in T}
    Q = T[: max(1, len(T) // 2)]
    for side in ("tail", "head"):
        for filtered in (True, False):
            ref = [_brute_rank(table, known_set, q, side, filtered) for q in Q]
            for model in (_Table(table), _TableAll(table)):
                got = filtered_ranks(model, Q, side, n_ent, known if filtered else None)
                assert np.array_equal(got, ref)


def test_constant_scorer_gets_the_mean_rank_never_rank_one():
    T = np.array([[0, 0, 1], [0, 0, 2], [3, 0, 1]])
    model = _Table(np.zeros((6, 1, 6)))
    known = KnownTriples(T, 6, 1)
    # tail of (0, 0, 1): candidates 0, 3, 4, 5 (2 is filtered, 1 is the target): all tied
    assert filtered_ranks(model, T[:1], "tail", 6, known).tolist() == [1 + 4 / 2]
    assert filtered_ranks(model, T[:1], "tail", 6, None).tolist() == [1 + 5 / 2]


def test_corrupt_changes_exactly_one_side_to_another_entity():
    T = torch.as_tensor(np.random.default_rng(0).integers(0, 7, size=(500, 3)))
    a = corrupt(T, 7, torch.Generator().manual_seed(1))
    b = corrupt(T, 7, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and torch.equal(a[:, 1], T[:, 1])
    changed = (a != T).sum(1)
    assert (changed == 1).all()
    head = a[:, 0] != T[:, 0]
    assert 0.4 < head.float().mean() < 0.6  # head or tail with probability 1/2


def test_evaluation_negatives_avoid_known_triples():
    rng = np.random.default_rng(0)
    T = np.unique(np.column_stack([rng.integers(0, 10, 60), np.zeros(60, int), rng.integers(0, 10, 60)]), axis=0)
    known = KnownTriples(T, 10, 1)
    neg = negatives_for(T, 10, known, seed=3)
    assert not known.contains(neg).any()
    assert np.array_equal(neg, negatives_for(T, 10, known, seed=3))


def test_negative_sampling_layout():
    seen = {}

    class Record(Loss):
        requires = ("y",)

        def forward(self, outputs, batch):
            seen.update(batch, outputs=outputs)
            return outputs.sum()

    pos, neg1, neg2 = torch.tensor([[0, 0, 1], [2, 0, 3]]), torch.tensor([[0, 0, 4], [5, 0, 3]]), torch.tensor([[6, 0, 1], [2, 0, 7]])
    loss = NegativeSampling(Record(), 2)
    loss([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]), torch.tensor([5.0, 6.0])],
         {"x": pos, "views": [pos, neg1, neg2], "index": torch.tensor([8, 9]), "epoch": 0})
    assert seen["outputs"].tolist() == [1, 2, 3, 4, 5, 6] and seen["y"].tolist() == [1, 1, 0, 0, 0, 0]
    assert torch.equal(seen["x"], torch.cat([pos, neg1, neg2])) and seen["index"].tolist() == [8, 9] * 3
    assert seen["negatives"] == 2 and "views" not in seen


# ---------------------------------------------------------------------------- split
def _star_kg():
    """A hub 0 linked to leaves 1..9, each leaf in one triple only, plus a dense core 10..19."""
    rng = np.random.default_rng(0)
    leaves = [(0, 0, i) for i in range(1, 10)]
    core = {(int(a), 1, int(b)) for a, b in rng.integers(10, 20, size=(80, 2)) if a != b}
    X = np.array(leaves + sorted(core), dtype=np.int64)
    return DataBundle(X, None, "triples", task="link_prediction", meta={"num_entities": 20, "num_relations": 2})


def test_split_keeps_test_entities_seen_in_training():
    task = ga.create("task", "link_prediction")
    bundle = _star_kg()
    report = check_task(task, bundle, SplitSpec(test=0.5), seed=0)
    s = task.split(bundle, SplitSpec(test=0.5), 0)
    tr, te = s["X_train"], s["X_test"]
    assert set(te[:, [0, 2]].ravel()) <= set(tr[:, [0, 2]].ravel()) and set(te[:, 1]) <= set(tr[:, 1])
    assert s["n_moved"] > 0 and report["n_test"] == len(te)  # leaves drawn into test were moved back
    both = np.concatenate([tr, te])
    assert len(np.unique(both, axis=0)) == len(both) == len(bundle.X)
    assert not ({tuple(r) for r in tr.tolist()} & {tuple(r) for r in te.tolist()})
    assert np.array_equal(s["X_test"], task.split(_star_kg(), SplitSpec(test=0.5), 0)["X_test"])
    assert not np.array_equal(s["X_test"], task.split(_star_kg(), SplitSpec(test=0.5), 1)["X_test"])


def test_undirected_split_has_no_reverse_copies():
    task = ga.create("task", "link_prediction")
    bundle = ga.create("dataset", "graph_edges", graph="karate").load()
    check_task(task, bundle, SplitSpec(test=0.3))
    s = task.split(bundle, SplitSpec(test=0.3), 0)
    train = {tuple(r) for r in s["X_train"].tolist()}
    assert s["undirected"] and not any((v, 0, u) in train or (u, 0, v) in train for u, _, v in s["X_test"].tolist())
    # both directions listed: the task canonicalises and drops the duplicates
    dup = DataBundle(np.concatenate([bundle.X, bundle.X[:, ::-1]]), None, "triples", task="link_prediction", meta=dict(bundle.meta))
    s2 = task.split(dup, SplitSpec(test=0.3), 0)
    assert s2["n_duplicates"] == 78 and s2["n_train"] + s2["n_test"] == 78


def test_split_errors():
    task = ga.create("task", "link_prediction")
    bad = DataBundle(np.zeros((5, 2), dtype=np.int64), None, "triples", task="link_prediction")
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        task.split(bad, SplitSpec(), 0)
    one = DataBundle(np.array([[0, 0, 1], [0, 0, 1]]), None, "triples", task="link_prediction")
    with pytest.raises(ValueError, match="at least 2 distinct triples"):
        task.split(one, SplitSpec(), 0)
    beyond = DataBundle(np.array([[0, 0, 5], [1, 0, 2]]), None, "triples", task="link_prediction", meta={"num_entities": 3, "num_relations": 1})
    with pytest.raises(ValueError, match="beyond num_entities=3"):
        task.split(beyond, SplitSpec(), 0)
    disjoint = DataBundle(np.array([[0, 0, 1], [2, 0, 3]]), None, "triples", task="link_prediction")
    with pytest.raises(ValueError, match="no test triple has all its entities"):
        task.split(disjoint, SplitSpec(test=0.5), 0)


# ---------------------------------------------------------------------------- pipelines
def _spec(**over):
    spec = {
        "name": "lp-test",
        "seed": 0,
        "data": {"dataset": "synthetic_kg", "params": {"n_entities": 100, "n_relations": 1, "n_triples": 600}, "split": {"test": 0.2}},
        "task": {"name": "link_prediction", "params": {"negatives": 4}},
        "models": {"distmult": {"encoder": "distmult", "params": {"dim": 32}}},
        "train": {"epochs": 25, "batch_size": 128, "lr": 0.05},
    }
    spec.update(over)
    return spec


def test_distmult_learns_a_symmetric_relation(tmp_path):
    """Siblings only: a held-out (b, sibling, a) is ranked near the top once (a, sibling, b) is
    known. Random ranking gives MRR about ln(n)/n = 0.046 for n = 100."""
    res = ga.Pipeline.from_dict(_spec()).run(runs_root=tmp_path, progress=False)
    m = res["distmult"]
    assert set(m) >= {"mrr", "hits_at_10", "roc_auc", "test_triples_moved_to_train", "final_train_loss"}
    assert m["mrr"] > 10 * math.log(100) / 100 and m["hits_at_10"] > 0.7 and m["roc_auc"] > 0.9
    assert res.metrics["task"] == "link_prediction" and res.metrics["data"]["data_type"] == "triples"


def test_karate_node_embedding_is_deterministic(tmp_path):
    spec = _spec(data={"dataset": "graph_edges", "params": {"graph": "karate"}, "split": {"test": 0.2}},
                 models={"emb": {"encoder": "node_embedding", "params": {"dim": 4}}},
                 train={"epochs": 50, "batch_size": 32, "lr": 0.05, "weight_decay": 0.01})
    a = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    b = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert a.metrics["models"] == b.metrics["models"]
    assert a["emb"]["mrr"] > 2 * math.log(34) / 34 and "mrr_per_relation" not in a["emb"]
    assert a.metrics["data"]["n_test"] + a.metrics["data"]["n_train"] == 78


_OWN = {}


class _OwnStep(Encoder):
    """A scorer with its own training step: records what it was given."""

    input_type = "triples"

    def __init__(self, num_entities: int = 0, num_relations: int = 0) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(num_entities, 4)

    def forward(self, T):
        return (self.emb(T[:, 0]) * self.emb(T[:, 2])).sum(-1)

    def training_step(self, x, y, loss_fn):
        _OWN.setdefault("calls", []).append((x.clone(), y))
        return -torch.nn.functional.logsigmoid(self(x)).mean()


@pytest.fixture
def own_step_encoder(monkeypatch):
    mod = types.ModuleType("geoatlas_test_lp_own_step")
    mod._OwnStep = _OwnStep
    monkeypatch.setitem(sys.modules, mod.__name__, mod)

    class P:
        @hookimpl
        def geoatlas_manifest(self):
            return {"id": "lp_own_step", "title": "test", "components": {"encoder": {"lp_own_step": f"{mod.__name__}:_OwnStep"}}}

    st_ = plugins.register(P(), "lp_own_step")
    assert st_.state == "loaded", st_.error
    yield
    plugins.unregister("lp_own_step")


def test_a_model_with_its_own_training_step_gets_the_positives(tmp_path, own_step_encoder):
    _OWN.clear()
    spec = _spec(models={"own": {"encoder": "lp_own_step"}}, train={"epochs": 1, "batch_size": 1000, "lr": 0.01})
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    (x, y), = _OWN["calls"]
    assert y is None and len(x) == res.metrics["data"]["n_train"]  # positives only, no labels, no negatives


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("params,exc,match", [
    ({"negatives": 0}, ValueError, "negatives must be >= 1"),
    ({"negatives": 1.5}, TypeError, "negatives must be an integer"),
    ({"rank": "middle"}, ValueError, "rank must be one of both, tail, head"),
    ({"filtered": "yes"}, TypeError, "filtered must be a bool"),
])
def test_bad_task_params(params, exc, match):
    with pytest.raises(exc, match=match):
        ga.create("task", "link_prediction", **params)


YAML = """name: lp-bad
data:
  dataset: {dataset}
task:
  name: link_prediction
  params: {{{params}}}
model:
  encoder: distmult
evaluate:
  metrics: [{metric}]
"""


@pytest.mark.parametrize("fill,match", [
    (dict(dataset="synthetic_kg", params="negative: 2", metric="mrr"), r"line 6.*no parameter 'negative'.*Did you mean 'negatives'"),
    (dict(dataset="synthetic_kg", params="", metric="accuracy"), r"line 10.*metric 'accuracy' does not apply to task 'link_prediction'"),
    (dict(dataset="sklearn_digits", params="", metric="mrr"), r"line 5.*takes triples data, not 'image'"),
])
def test_bad_specs_name_the_line(fill, match):
    with pytest.raises(SpecError, match=match):
        ga.Pipeline.from_yaml(YAML.format(**fill)).validate()


def test_a_model_that_does_not_score_triples_is_a_clear_error(tmp_path):
    spec = _spec(models={"mlp": {"encoder": "mlp", "params": {"out_features": 1}}}, train={"epochs": 1})
    with pytest.raises(ValueError, match="cannot score a batch of triples"):
        ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
