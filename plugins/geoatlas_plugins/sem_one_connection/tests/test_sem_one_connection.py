import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.sem_one_connection.sem import (
    MixedGraph,
    generic_finite_to_one,
    one_connection_covariance,
    one_connection_matrix,
    random_parameters,
    sem_covariance,
    sem_covariance_torch,
)


@st.composite
def mixed_graphs(draw, min_p=2, max_p=6):
    p = draw(st.integers(min_p, max_p))
    pairs = list(itertools.permutations(range(p), 2))
    directed = [e for e in pairs if draw(st.floats(0, 1)) < 0.35]
    und = list(itertools.combinations(range(p), 2))
    bidirected = [e for e in und if draw(st.floats(0, 1)) < 0.25]
    return MixedGraph(p, tuple(directed), tuple(bidirected))


@given(g=mixed_graphs(), seed=st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_one_connection_rule_matches_matrix_inversion(g, seed):
    L, W = random_parameters(g, np.random.default_rng(seed))
    A = np.eye(g.p) - L
    direct = np.linalg.inv(A).T @ W @ np.linalg.inv(A)  # Sigma = (I - L)^{-T} W (I - L)^{-1}
    S = one_connection_covariance(g, L, W)
    assert np.abs(S - direct).max() <= 1e-10 * np.abs(direct).max()
    C, det = one_connection_matrix(g, L)
    assert abs(det - np.linalg.det(A)) <= 1e-10 * max(1.0, abs(det))
    assert np.abs(C / det - np.linalg.inv(A)).max() <= 1e-9 * np.abs(np.linalg.inv(A)).max()


def test_acyclic_case_is_trek_rule():
    # DAG 0 -> 1 -> 2, 0 -> 2 with 1 <-> 2: det = 1 and Sigma_02 by the trek rule
    g = MixedGraph(3, ((0, 1), (1, 2), (0, 2)), ((1, 2),))
    assert g.is_acyclic
    L, W = random_parameters(g, np.random.default_rng(0))
    C, det = one_connection_matrix(g, L)
    assert det == 1.0
    a, b, c = L[0, 1], L[1, 2], L[0, 2]
    # treks between 0 and 2: top 0 with paths 0->1->2 and 0->2
    assert abs(one_connection_covariance(g, L, W)[0, 2] - W[0, 0] * (a * b + c)) < 1e-12


def test_three_cycle_closed_form():
    # single 3-cycle 0 -> 1 -> 2 -> 0, Omega = I: (I - L)^{-1} = adj / (1 - abc)
    g = MixedGraph(3, ((0, 1), (1, 2), (2, 0)))
    a, b, c = 0.5, -0.7, 0.9
    L = np.zeros((3, 3))
    L[0, 1], L[1, 2], L[2, 0] = a, b, c
    C, det = one_connection_matrix(g, L)
    assert abs(det - (1 - a * b * c)) < 1e-15
    assert np.allclose(C, [[1, a, a * b], [b * c, 1, b], [c, c * a, 1]])


def test_jacobian_gradcheck():
    g = MixedGraph(3, ((0, 1), (1, 2), (2, 0)), ((0, 2),))
    L, W = random_parameters(g, np.random.default_rng(1))
    Lt = torch.tensor(L, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    assert torch.autograd.gradcheck(sem_covariance_torch, (Lt, Wt))


def test_simple_graphs_on_three_nodes_are_finite_to_one():
    # every simple mixed graph on 3 nodes (each pair: nothing, i->j, j->i or i<->j)
    pairs = list(itertools.combinations(range(3), 2))
    count = 0
    for choice in itertools.product(range(4), repeat=3):
        d, b = [], []
        for (i, j), c in zip(pairs, choice, strict=True):
            if c == 1:
                d.append((i, j))
            elif c == 2:
                d.append((j, i))
            elif c == 3:
                b.append((i, j))
        g = MixedGraph(3, tuple(d), tuple(b))
        assert g.is_simple
        rep = generic_finite_to_one(g, n_trials=1)
        assert rep.finite_to_one, (d, b, rep)
        count += 1
    assert count == 64


def test_non_simple_examples_lose_rank():
    bow = MixedGraph(2, ((0, 1),), ((0, 1),))
    two_cycle = MixedGraph(2, ((0, 1), (1, 0)))
    for g in (bow, two_cycle):
        rep = generic_finite_to_one(g)
        assert not g.is_simple and not rep.finite_to_one and rep.rank < rep.n_parameters


def test_bad_input():
    g = MixedGraph(3, ((0, 1), (1, 2)), ((0, 2),))
    L, W = random_parameters(g, np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive definite"):
        one_connection_covariance(g, L, -W)
    with pytest.raises(ValueError, match="symmetric"):
        one_connection_covariance(g, L, W + np.triu(np.full((3, 3), 0.1), 1))
    bad = L.copy()
    bad[2, 0] = 0.3
    with pytest.raises(ValueError, match="not a directed edge"):
        one_connection_covariance(g, bad, W)
    W2 = W.copy()
    W2[0, 1] = W2[1, 0] = 0.1
    with pytest.raises(ValueError, match="not a bidirected edge"):
        one_connection_covariance(g, L, W2)
    with pytest.raises(ValueError, match="NaN"):
        one_connection_covariance(g, np.full((3, 3), np.nan), W)
    with pytest.raises(ValueError, match="shape"):
        one_connection_covariance(g, L[:2, :2], W)
    cyc = MixedGraph(2, ((0, 1), (1, 0)))
    with pytest.raises(ValueError, match="singular"):
        one_connection_covariance(cyc, np.array([[0, 1.0], [1.0, 0]]), np.eye(2))
    with pytest.raises(ValueError, match="self-loop"):
        MixedGraph(2, ((0, 0),))
    with pytest.raises(ValueError, match="outside"):
        MixedGraph(2, ((0, 5),))
    with pytest.raises(ValueError, match="p <= 9"):
        one_connection_matrix(MixedGraph(10), np.zeros((10, 10)))
    with pytest.raises(ValueError, match="n_trials"):
        generic_finite_to_one(g, n_trials=0)
    with pytest.raises(ValueError, match="square"):
        sem_covariance(np.zeros((2, 3)), np.eye(2))


def test_one_connection_matrix_validates_lambda():
    """The public (c, det) routine refuses a Lambda it would silently misread (audit: all-0.1 gave det 0.999)."""
    g = MixedGraph(3, ((0, 1), (1, 2), (2, 0)))
    L, _ = random_parameters(g, np.random.default_rng(1))
    C, det = one_connection_matrix(g, L)
    assert np.allclose(C / det, np.linalg.inv(np.eye(3) - L), atol=1e-12)
    with pytest.raises(ValueError, match="not a directed edge"):
        one_connection_matrix(g, np.full((3, 3), 0.1) * (1 - np.eye(3)))
    diag = L.copy()
    diag[1, 1] = 0.2
    with pytest.raises(ValueError, match=r"Lambda\[1, 1\].*diagonal"):
        one_connection_matrix(g, diag)
    for bad in (np.full((3, 3), np.nan), np.where(L != 0, np.inf, 0.0)):
        with pytest.raises(ValueError, match="NaN or Inf"):
            one_connection_matrix(g, bad)
    with pytest.raises(ValueError, match="shape"):
        one_connection_matrix(g, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="real"):
        one_connection_matrix(g, [["a", 0, 0], [0, 0, 0], [0, 0, 0]])
    cyc = MixedGraph(2, ((0, 1), (1, 0)))
    with pytest.raises(ValueError, match="singular"):
        one_connection_matrix(cyc, np.array([[0, 1.0], [1.0, 0]]))
    with pytest.raises(TypeError, match="MixedGraph"):
        one_connection_matrix("graph", L)  # type: ignore[arg-type]


def test_dataset():
    ds = ga.create("dataset", "linear_sem_sets", n_per_class=3, n_classes=2, p=4, n_observations=20)
    b = ds.load()
    assert b.X.shape == (6, 20, 4) and set(b.y.tolist()) == {0, 1}
    assert np.array_equal(b.X, ga.create("dataset", "linear_sem_sets", n_per_class=3, n_classes=2, p=4, n_observations=20).load().X)
    for g, S in ds.graphs():
        assert not g.is_acyclic and np.linalg.eigvalsh(S).min() > 0
    with pytest.raises(ValueError, match="p must"):
        ga.create("dataset", "linear_sem_sets", p=20)
