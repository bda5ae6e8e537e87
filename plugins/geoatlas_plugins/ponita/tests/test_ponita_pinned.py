"""Pinned outputs of the numerical paths that the speed work of issue 22 changed.

The values were computed by the code *before* those changes (commit 9910797, float64) and are
compared at 1e-12: the dense fully connected aggregation, the sparse (radius graph) aggregation
with its smooth window, the no-window path (``radius=None``), the fibre convolution (depthwise and
full), the non-separable bundle convolution and the position-space / edge-lifted ``Conv``. Each
case pins node/graph outputs and parameter gradients, so a change in the forward or the backward
of a path fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import geoatlas as ga
from geoatlas_plugins.ponita.geometry import fully_connected_graph
from geoatlas_plugins.ponita.layers import FiberBundleConv

D = torch.float64


def _graphs(sizes: list[int], seed: int, edges: str) -> Any:
    from torch_geometric.data import Batch, Data

    g = torch.Generator().manual_seed(seed)
    b = Batch.from_data_list([Data(pos=torch.randn(n, 3, generator=g, dtype=D), x=torch.randn(n, 2, generator=g, dtype=D),
                                   vec=torch.randn(n, 1, 3, generator=g, dtype=D)) for n in sizes])
    if edges == "full":
        b.edge_index = fully_connected_graph(b.batch, loop=False)
    elif edges == "sparse":  # a fixed random subset of the fully connected edges
        ei = fully_connected_graph(b.batch, loop=False)
        b.edge_index = ei[:, torch.rand(ei.shape[1], generator=g) < 0.5]
    return b


def _set_weights(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=D))


def _summary(model: torch.nn.Module, out: Any) -> list[float]:
    """A few output entries and one number per parameter gradient of a fixed loss."""
    loss = torch.zeros((), dtype=D)
    vals: list[float] = []
    for t in (out.node_scalars, out.node_vectors, out.graph_scalars):
        if t is not None:
            loss = loss + (t * torch.linspace(-1, 1, t.numel(), dtype=D).view_as(t)).sum()
            vals += t.flatten()[:4].tolist()
    model.zero_grad()
    loss.backward()
    for _, p in sorted(model.named_parameters()):
        w = torch.linspace(0.5, 1.5, p.numel(), dtype=D).view_as(p)
        vals.append(float((p.grad * w).sum()) if p.grad is not None else 0.0)
    return vals


CASES: dict[str, dict[str, Any]] = {
    "full_dense": dict(graphs=([5, 5, 5], "full"), kw=dict(num_orientations=8, in_vectors=1, out_vectors=1, connectivity="edges")),
    "full_unequal": dict(graphs=([3, 6, 4], "full"), kw=dict(num_orientations=8, in_vectors=1, out_vectors=1, connectivity="edges")),
    "sparse_edges": dict(graphs=([6, 5], "sparse"), kw=dict(num_orientations=8, in_vectors=1, out_vectors=1, connectivity="edges")),
    "radius_window": dict(graphs=([6, 7], "none"), kw=dict(num_orientations=8, in_vectors=1, out_vectors=1, radius=1.5)),
    "full_auto": dict(graphs=([4, 4], "none"), kw=dict(num_orientations=6, in_vectors=1, out_vectors=1)),
    "non_separable": dict(graphs=([4, 5], "full"), kw=dict(num_orientations=6, in_vectors=1, out_vectors=1, separable=False, connectivity="edges")),
    "pnita": dict(graphs=([5, 4], "full"), kw=dict(num_orientations=0, connectivity="edges")),
    "pnita_dense": dict(graphs=([4, 4, 4], "full"), kw=dict(num_orientations=0, connectivity="edges")),
    "pnita_radius": dict(graphs=([5, 4], "none"), kw=dict(num_orientations=0, radius=1.6)),
    "edge_lifted": dict(graphs=([4, 3], "full"), kw=dict(num_orientations=-1, in_vectors=1, out_vectors=1, connectivity="edges")),
    "edge_lifted_radius": dict(graphs=([5, 4], "none"), kw=dict(num_orientations=-1, in_vectors=1, out_vectors=1, radius=1.8)),
}


def case_values(name: str) -> list[float]:
    c = CASES[name]
    sizes, edges = c["graphs"]
    b = _graphs(sizes, 1, edges)
    m = ga.create("encoder", "ponita", in_features=2, hidden=8, out_features=2, layers=2, basis_dim=6, grid="fibonacci",
                  task_level="node", calibrate=False, layer_scale=0.5, **c["kw"]).double()
    _set_weights(m, 2)
    return _summary(m, m.encode(b))


def fiber_conv_values(groups: int) -> list[float]:
    g = torch.Generator().manual_seed(3)
    conv = FiberBundleConv(4, 4, 5, groups=groups, calibrate=False).double()
    _set_weights(conv, 4)
    ei = fully_connected_graph(torch.tensor([0, 0, 0, 1, 1]), loop=True)
    x = torch.randn(5, 6, 4, generator=g, dtype=D, requires_grad=True)
    basis = torch.randn(ei.shape[1], 6, 5, generator=g, dtype=D, requires_grad=True)
    fb = torch.randn(6, 6, 5, generator=g, dtype=D, requires_grad=True)
    out = conv(x, ei, basis, fiber_basis=fb)
    (out * torch.linspace(-1, 1, out.numel(), dtype=D).view_as(out)).sum().backward()
    vals = out.flatten()[:4].tolist()
    for t in (x, basis, fb, conv.kernel.weight, conv.fiber_kernel.weight, conv.bias):
        vals.append(float((t.grad * torch.linspace(0.5, 1.5, t.numel(), dtype=D).view_as(t)).sum()))
    return vals


PINNED: dict[str, list[float]] = {  # computed at commit 9910797 (before the changes)
    'edge_lifted': [0.24108767739595627, 0.6232134814568195, 0.5379887267479762, 0.001025713338563175, -0.16987637645525355, -0.09639679195162491, -0.07137601081706516, -0.09911361462673814, 1.5478363440247276, 1.8112494701553503, 1.4008092454218046, 0.5111036444019671, -0.055428608194823405, -0.24910055459185515, 0.049898158809590504, 0.29400374283771924, 0.0017510329266279259, -0.47567282686057377, 2.620866287877617, -1.0723523253648, 1.4562906324062355, -0.2349493674760465, -0.3897667639844029, 0.2859365720184079, -0.19951092052152974, -0.05715118044963693, -2.9192079161437565, 0.14242769481523043, -0.22514916582645284, -0.2389187004162024, -0.28284906504374757, -0.6428227304129264, -0.18659994877291236, -0.7912738016802814, 0.965525587984337, -3.4398820616601893, 0.965525587984337, -3.0643474093507193, 12.157139512456505],
    'edge_lifted_radius': [0.3207266777406932, 0.3585834613281222, 0.5130934966847523, 0.8788367404857972, -0.11075606619593308, -0.21786085134885413, -0.01835978561332071, -0.12249907927261945, 1.5663880686244904, 1.9038175168717264, 1.8898396458488005, 1.5114056670041316, -0.049296423952865015, -0.13062653948035557, 0.02999493473072956, 0.11910118033857206, 0.03058794469089119, 0.08326525122534476, 3.312871992337301, -1.4718589578272874, 1.8811696002553424, -0.0635718254377729, -0.5557060223958616, 0.08459050724332501, -0.7886377226875078, -0.18078411969822336, -0.6700935159286907, -0.11533392562994621, -0.42304354934037947, -0.6304391373163913, -0.4880535198423066, -1.2135997875634958, -0.20383201381162347, -0.2931452305701413, 2.053648020847323, -1.1062936673734445, 2.053648020847323, 0.41844929408609355, 4.02527067640234],
    'full_auto': [-0.26516319852017917, -0.15764930942279953, -0.32792834627459827, -0.009173444154047278, -0.37919644263827945, 0.18819068718135132, -0.09871846780611289, 0.13559847482089393, -0.5901869079748934, -1.45330876857058, -0.6092302692361695, -1.3788837773459777, 0.004210562820858924, 0.06696926339230186, 0.01729526851972867, 0.09403240782807773, -0.0040442808204563824, 0.0013772352950882027, -0.00124648667865532, -0.0008747849842561454, -0.23996262923168077, -0.0007931756746779885, -0.006840560114605619, 0.21890639650598964, 0.6008643763653616, 0.4028636549509247, 0.924510482748754, 0.50088856164759, -0.26521951650622816, -0.4376638514066603, 0.48814548011424996, 0.0062253409282285125, -0.01776489705586934, -0.008435111123185401, -0.3307460606278511, -0.4049460250320668, -1.4718042941386147, -4.181197192661532, -0.9792215480551927, 1.8341157767471805, 0.7882111373098437, 0.9707763080092046, 0.7882111373098437, 1.0067357867552797, 4.236677467157327],
    'full_dense': [-0.3440797245381351, 0.00931451641011681, -0.21473303820850337, -0.24789834461316473, 0.060176139430400934, -0.18017831034440213, -0.297829989087263, -0.048784187279412076, 0.00990281057816228, -3.101869707700887, -0.4775542124629679, -2.2895618613524786, 0.006049570946672955, 0.2054427800390456, -0.04567722966928439, 0.6582829355196398, 0.03683085522998025, 0.014347274059076615, 0.12115735651526438, 0.044192217975170665, -0.26653466134827364, 0.017931345789824565, 0.2251273381916756, 0.2842868512356804, 0.638453140119219, 0.43760365105936705, 0.9145995493493477, 0.4555083640731789, -0.2861221870987418, -0.5361773364633827, 0.4281663650059718, 0.27472022951643216, 0.16071370333362392, 0.05973442033890869, -0.28346677953294014, -0.33012190519066054, -1.6175449647681552, -4.363043271004395, -1.1093537204558266, 2.234222563242321, 0.8826286051728237, -0.12765927418718093, 0.8826286051728237, -0.3482144001278913, 2.7565850949070088],
    'full_unequal': [-0.15097401647772019, -0.35709379894194504, -0.2392068474030764, -0.18626165843885253, -0.03205912418799571, 0.05071115532280872, 0.06283728951924755, 0.1980790952776578, -0.3385025439384477, -1.2664234625567459, -0.34626370340325224, -3.120942379504124, 0.001255490501389522, 0.011460194735758053, -0.03809962907600026, -0.5188327900795555, -0.030400311758426196, -0.011188523607846088, -0.11547983754440921, -0.04118736868491452, -0.23197756206292297, -0.0021677553931521852, 0.03620161414103143, 0.2752966566956848, 0.5767219366477438, 0.3904323662516962, 0.9144029451633715, 0.4951755795641748, -0.28299922618425655, -0.38070987149984326, 0.515371825132693, -0.08418515487024701, -0.1386065434592017, 0.0450416623409049, -0.44067596471516635, -0.526561425613244, -1.7309444717826816, -4.983021273137556, -1.0097365811200865, 1.89943283235929, 1.3833299033639914, 0.7251092179572496, 1.3833299033639914, 0.903430073645733, 4.786941574954547],
    'non_separable': [0.5328150584906928, 0.5638841714613946, 0.4141332135901445, 0.0408666131816245, -0.02606484874157899, 0.03601363731178712, -0.006672963684659787, 0.0305845398301699, 1.855027465424191, 1.7170103462740438, 2.293709475644067, 2.0168956787812524, 0.02383149021849467, 1.0608414609442196, 0.00682481893319449, 0.5759710303644578, 0.05522550736484487, 0.44688865637285663, 3.820914080825945, -1.104990651409787, 1.4306056020343307, 0.11246585451363356, 0.010057757419488847, 0.05764970337054373, -0.9075570447193273, 0.03888656022122496, -0.3365894075803536, 0.06469861119049969, -0.672351077318817, -1.0610689765707404, -0.7616283405185954, -0.9851248810017568, -0.13154169911241076, 0.7460520825282161, 1.3706207557107868, 0.6948965413871524, 1.3706207557107868, 1.2488823130048847, -1.1587941228691472],
    'pnita': [0.04282010091255467, 0.09431966316105367, 0.2723280436145899, 0.37523730158546414, 0.7903728900591616, 1.369809889193877, 0.697896539877705, 0.984430006700318, 0.0574368787199484, 0.7906213003852067, 0.04697758686025272, 0.8597641913746612, 0.004468528297417514, 0.28886758534828066, -1.4157261835276147, -0.09644666711867553, -0.24472669246892115, -0.06936700356910802, -0.16174285337458472, -0.06705758905641948, 0.49638957478305135, 0.02952850340344962, 0.18027188743885952, -0.23865739948514078, 0.791404662179193, 1.0823172150658236, 0.17006296353293143, 0.6907648578503234, -0.09473478865196959, -0.6506345090832524, 1.0980392156862742, -2.629710474103545, 1.0980392156862742, -1.6104508742954309, -2.9376342538669933],
    'pnita_dense': [0.2097392458890159, 0.27810458569504437, -0.0027658739631340468, 0.028470876498692954, 0.8640287933428796, 1.205933814380392, 0.6938326116051313, 1.005555746562584, -0.0008471411229320769, 1.3762428104518056, -0.006457793107788233, -0.2698766347950791, 0.06266062688373464, -0.015251966851332163, -0.5509421759455749, -0.035958403109675637, -0.0880452940429323, -0.15381444767577396, -0.2757422739974915, -0.03200010719473931, 0.24707017186707023, 0.09792117301493794, 0.008241838557274526, -0.1459045626495883, 0.2829682671771104, 0.2911038499187006, 0.16823402762410436, 0.6235291154161886, -0.25333972463346977, -0.32658462436001223, 1.4608695652173913, -4.6249480570817685, 1.4608695652173913, -4.102714420600536, 2.182765630171115],
    'pnita_radius': [0.08073699500473713, 0.11648989864387577, 0.31223558511920113, 0.39858297382741587, 0.915828384626951, 1.4419828915768123, 0.6937559548701582, 0.9716178128646353, -0.06114683118615745, -0.06966089480853764, -0.17317256284659904, -0.03371618870606564, 0.03441835377749323, -0.5431656214428247, -1.1811374308908105, -0.10420168395197951, -0.1926798593014064, -0.10852141943715338, -0.16089571624177162, -0.10683229119455354, 0.0654061698537605, 0.06003305272811831, -0.308441231168111, -0.0038338879527586023, 0.5088029164313554, 0.34368022979556506, 0.17006296353293143, 0.6427834323907327, -0.2346884362718938, -0.3460247613230607, 1.0980392156862742, -2.6198176059822007, 1.0980392156862742, -2.1831664836917684, -2.665731228998606],
    'radius_window': [-0.41300582288537313, 0.13939287565451502, -0.48432329589807344, 0.26869298881460385, 0.011858397314700425, 0.020039081464864956, -0.0042061447428962985, 0.14093061355655737, -1.1831340474546677, -1.5405842715437261, -0.6517911190523106, -3.217500975502043, 0.002252847992443149, 0.0003751899479450193, 0.007039442183255676, 0.001006674471451886, -0.0018356834826398062, -0.0004921671652268365, -0.0077422404952397165, -0.0029029459844274277, -0.365899731630024, 0.0009821761859421462, 0.005437068981273891, 0.41318165580238486, 0.9105113180154154, 0.6179510134470757, 1.4626768260681837, 0.7870377922279577, -0.4414502282281504, -0.6514480636494251, 0.7561534539829484, -0.0032799214211467775, 0.007895411760160991, 0.041303633553205765, -0.5832123915620623, -0.7137283988458234, -2.478756223349952, -7.066784250186791, -1.5432445471886527, 3.004609171510589, 1.7166632366973253, -1.5877540261611545, 1.7166632366973253, -1.462742639415982, 1.9681835338278986],
    'sparse_edges': [-0.4040579306179784, 0.11365097245650123, -0.4896665065731225, 0.31133670789115314, 0.011788307148196156, 0.019828573224135428, -0.004298364044320999, 0.14106612415100286, -1.1753519018631797, -1.5414756519752952, -0.9782035461124079, -1.2436099513755843, 0.003425703069552513, 0.47567033998310926, 0.027781460475873043, 1.7610948182294828, 0.15202278503031003, 0.0163677975024804, 0.5121815209836864, 0.19338754931849858, -0.310860459807093, 0.05753192326275044, 0.5844920630327581, 0.28122711588747873, 0.7389379881214477, 0.4884576332684653, 1.185019709530683, 0.5511755086202172, -0.32728145411673476, -0.6820175866108742, 0.47368073205869976, 0.4067121826027662, 0.5544263789393826, -0.018177716000852884, -0.2233420215964385, -0.3442163043004628, -1.6804229638223935, -4.400126786863402, -1.2803931652766378, 2.5226228172575453, 0.5509649601338272, -0.8234816022298083, 0.5509649601338272, -0.9740239642345261, -2.8297341132464258],
    'fiber_conv_groups1': [-0.04371762181334088, 0.028234809671747123, 0.4194583225921031, 0.1514360124049211, 1.8269670157184779, 0.279960939275834, 0.5852355361197147, 3.974108377089283, -100.30730137399188, 0.8403361344537825],
    'fiber_conv_groups4': [-0.6918400466452618, 0.10355656337703274, 0.6861051997668616, 0.383801824281592, -1.4343136684232398, -7.049686317592349, 2.592221638239257, 2.193157329623749, 0.6790498359359529, 0.8403361344537825],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_paths_match_pinned_values(name: str) -> None:
    got = case_values(name)
    want = PINNED[name]
    assert len(got) == len(want)
    assert torch.allclose(torch.tensor(got, dtype=D), torch.tensor(want, dtype=D), rtol=1e-12, atol=1e-12), name


@pytest.mark.parametrize("groups", [1, 4])
def test_fiber_conv_matches_pinned_values(groups: int) -> None:
    got = fiber_conv_values(groups)
    want = PINNED[f"fiber_conv_groups{groups}"]
    assert torch.allclose(torch.tensor(got, dtype=D), torch.tensor(want, dtype=D), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- the dense fast path
def test_dense_block_size_detects_only_complete_equal_graphs() -> None:
    from geoatlas_plugins.ponita.geometry import add_self_loops_coalesced, dense_block_size

    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    full = fully_connected_graph(batch, loop=True)
    assert dense_block_size(full, batch) == 3
    assert dense_block_size(add_self_loops_coalesced(fully_connected_graph(batch, loop=False), 6), batch) == 3
    assert dense_block_size(full[:, :-1], batch) == 0  # an edge missing
    assert dense_block_size(full.flip(1), batch) == 0  # same edges, other order
    swapped = full.clone()
    swapped[0, 1], swapped[0, 2] = full[0, 2], full[0, 1]
    assert dense_block_size(swapped, batch) == 0  # right count and receivers, wrong senders
    uneq = torch.tensor([0, 0, 1, 1, 1, 1])
    assert dense_block_size(fully_connected_graph(uneq, loop=True), uneq) == 0
    assert dense_block_size(fully_connected_graph(batch, loop=False), batch) == 0  # no self-loops


def test_dense_aggregation_equals_sparse_with_first_and_second_derivatives() -> None:
    from geoatlas_plugins.ponita.layers import aggregate_products

    g = torch.Generator().manual_seed(5)
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    ei = fully_connected_graph(batch, loop=True)
    k = torch.randn(ei.shape[1], 2, 3, generator=g, dtype=D, requires_grad=True)
    x = torch.randn(6, 2, 3, generator=g, dtype=D, requires_grad=True)
    dense, sparse = aggregate_products(k, x, ei, block=3), aggregate_products(k, x, ei, block=0)
    loop = torch.stack([sum(k[e] * x[ei[0, e]] for e in range(ei.shape[1]) if ei[1, e] == i) for i in range(6)])
    assert torch.allclose(dense, loop, atol=1e-14) and torch.allclose(sparse, loop, atol=1e-14)
    # the custom backward (permuted incoming gradient included) and double backward
    torch.autograd.gradcheck(lambda a, b: aggregate_products(a, b, ei, 3).permute(2, 0, 1), (k, x))
    torch.autograd.gradgradcheck(lambda a, b: aggregate_products(a, b, ei, 3), (k, x))


def test_fiber_mix_equals_einsum_with_first_and_second_derivatives() -> None:
    from geoatlas_plugins.ponita.layers import _FiberMix

    g = torch.Generator().manual_seed(6)
    x = torch.randn(5, 4, 3, generator=g, dtype=D, requires_grad=True)
    k = torch.randn(4, 4, 3, generator=g, dtype=D, requires_grad=True)
    assert torch.allclose(_FiberMix.apply(x, k), torch.einsum("moc,opc->mpc", x, k), atol=1e-14)
    torch.autograd.gradcheck(_FiberMix.apply, (x, k))
    torch.autograd.gradgradcheck(_FiberMix.apply, (x, k))


def test_sparse_aggregation_derivatives() -> None:
    from geoatlas_plugins.ponita.layers import aggregate_products

    g = torch.Generator().manual_seed(7)
    ei = torch.tensor([[0, 1, 2, 2, 3, 1], [1, 0, 0, 3, 3, 2]])
    k = torch.randn(6, 2, 3, generator=g, dtype=D, requires_grad=True)
    x = torch.randn(4, 2, 3, generator=g, dtype=D, requires_grad=True)
    torch.autograd.gradcheck(lambda a, b: aggregate_products(a, b, ei).permute(2, 0, 1), (k, x))
    torch.autograd.gradgradcheck(lambda a, b: aggregate_products(a, b, ei), (k, x))
