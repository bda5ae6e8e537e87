"""geoatlas.utils.adjacency_matrix: one graph-to-matrix conversion for every graph plugin."""

import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import from_networkx

from geoatlas.utils import adjacency_matrix


def test_all_input_forms_agree():
    G = nx.karate_club_graph()
    dense = nx.to_numpy_array(G, nodelist=sorted(G), weight=None)
    for form in (G, from_networkx(G), dense, nx.to_scipy_sparse_array(G, weight=None)):
        A = adjacency_matrix(form, weighted=False)
        assert A.shape == (34, 34) and np.array_equal(A.toarray(), dense)


def test_weights_duplicates_and_symmetrisation():
    d = Data(edge_index=torch.tensor([[0, 0, 1], [1, 1, 2]]), num_nodes=3, edge_weight=torch.tensor([1.0, 2.0, 0.5]))
    A = adjacency_matrix(d).toarray()
    assert A[0, 1] == 3.0 and A[1, 2] == 0.5 and A[1, 0] == 0.0
    S = adjacency_matrix(d, symmetric=True, weighted=False).toarray()
    assert np.array_equal(S, S.T) and S.max() == 1.0


@pytest.mark.parametrize("bad, match", [
    (Data(edge_index=torch.tensor([[0, 5]]), num_nodes=3), r"shape \(2, E\)"),
    (Data(edge_index=torch.tensor([[0], [7]]), num_nodes=3), r"outside \[0, 3\)"),
    (np.ones((2, 3)), "square"),
    (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN or Inf"),
    (np.zeros((0, 0)), "no nodes"),
])
def test_bad_graphs_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        adjacency_matrix(bad, name="my_graph")


def test_not_a_graph():
    with pytest.raises(TypeError, match="my_graph must be"):
        adjacency_matrix(object(), name="my_graph")


def test_id_table_and_cardinalities_checks():
    from geoatlas.validation import check_cardinalities, check_id_table

    assert check_cardinalities([3, 4], "fm") == [3, 4]
    for bad in (None, 3, [], [2, 0], [2, True], "ab"):
        with pytest.raises(ValueError, match="fm: cardinalities"):
            check_cardinalities(bad, "fm")
    ok = check_id_table(np.array([[0, 3], [2, 1]]), [3, 4], "fm")
    assert ok.dtype == torch.int64
    with pytest.raises(ValueError, match=r"fm: field 1 has ids outside 0..3 \(got 1..4\)"):
        check_id_table(torch.tensor([[0, 4], [2, 1]]), [3, 4], "fm")
    with pytest.raises(ValueError, match=r"\(B, 2\) table"):
        check_id_table(torch.zeros(3, 3, dtype=torch.long), [3, 4], "fm")
    with pytest.raises(ValueError, match="integer field ids"):
        check_id_table(torch.zeros(3, 2), [3, 4], "fm")


def test_measure_constructors_are_checked():
    from geoatlas.interfaces import Measure
    from geoatlas.validation import Size

    class M(Measure):
        def __init__(self, k: Size = 3) -> None:
            self.k = k

        def __call__(self, model=None, data=None):
            return {"k": self.k}

    assert M(k=2)()["k"] == 2
    with pytest.raises((ValueError, TypeError), match="k"):
        M(k=0)


def test_backbone_params_pass_on_what_the_backbone_accepts():
    from geoatlas.utils import backbone_params

    out = backbone_params("mlp", {"hidden": [8]}, in_features=4, out_features=3, in_channels=1, num_classes=None)
    assert out == {"hidden": [8], "in_features": 4, "out_features": 3}  # mlp takes no in_channels
    assert backbone_params("mlp", {"in_features": 9}, in_features=4)["in_features"] == 9  # given wins
    with pytest.raises(TypeError, match="backbone_params must be a dict"):
        backbone_params("mlp", [1])
    with pytest.raises(ValueError, match="registered encoder"):
        backbone_params("sklearn_digits")


def test_embed_batches_in_eval_mode_and_restores_training():
    from geoatlas.utils import embed

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5))
    net.train()
    X = torch.randn(10, 3)
    out = embed(net, X, batch_size=3)
    assert out.dtype == np.float64 and out.shape == (10, 4) and net.training
    with torch.no_grad():
        assert np.allclose(out, net[0](X).double().numpy(), atol=1e-7)  # dropout off: eval mode


def test_with_node_features_copies_the_graph_with_new_x():
    import numpy as np
    import pytest
    import torch
    from torch_geometric.data import Data

    from geoatlas.utils import with_node_features

    g = Data(x=torch.zeros(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]), train_mask=torch.tensor([True, False, True]))
    out = with_node_features(g, np.arange(6.0).reshape(3, 2))
    assert out.x.dtype == torch.float32 and out.x.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert g.x.shape == (3, 1) and torch.equal(out.edge_index, g.edge_index) and torch.equal(out.train_mask, g.train_mask)
    with pytest.raises(ValueError, match="output='graph_nodes' needs a torch-geometric Data"):
        with_node_features(np.eye(3), np.zeros((3, 2)))
