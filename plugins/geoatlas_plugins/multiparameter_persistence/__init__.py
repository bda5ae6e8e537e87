"""Built-in plugin: multiparameter persistence (MMA representations, differentiable signed measures).

Built on ``multipers`` 2.3.2 (MIT) with ``gudhi == 3.11.0`` (gudhi 3.12 breaks degree-Rips, 3.13 segfaults in multipers
2.3.2's SimplexTree conversion).
"""

import os

from geoatlas import hookimpl

# multipers imports pykeops, which prints "CUDA libraries not found; switching to CPU only" on
# import, once per process (twice in a run with a worker); keep it quiet unless the user asked
os.environ.setdefault("KEOPS_VERBOSE", "0")

MANIFEST = {
    "id": "multiparameter_persistence",
    "title": "Multiparameter persistence: MMA representations and differentiable signed measures",
    "summary": "Bifiltrations of point clouds (Rips x codensity, Rips x function, degree-Rips, Delaunay core), graphs "
    "(degree-Rips, node/edge-function clique bifiltrations) and images (bifiltered cubical); module approximation (MMA) "
    "vectorised as images and landscapes; Hilbert/Euler signed measures vectorised by kernel convolution or "
    "sliced Wasserstein, differentiable in torch (gradients reach points and filtration values); an encoder "
    "that learns a filtration end to end. Use when shape and density (or two node functions) matter jointly, "
    "e.g. point clouds with outliers.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "A Framework for Fast and Stable Representations of Multiparameter Persistent Homology Decompositions",
            "authors": ["David Loiseaux", "Mathieu Carrière", "Andrew J. Blumberg"],
            "year": 2023,
            "venue": "NeurIPS",
            "arxiv": "2306.11170",
        },
        {
            "title": "Differentiability and Optimization of Multiparameter Persistent Homology",
            "authors": ["Luis Scoccola", "Siddharth Setlur", "David Loiseaux", "Mathieu Carrière", "Steve Oudot"],
            "year": 2024,
            "venue": "ICML",
            "arxiv": "2406.07224",
        },
    ],
    "components": {
        "descriptor": {
            "rips_codensity": {"target": ".filtrations:RipsCodensity", "summary": "Rips x Gaussian-KDE codensity bifiltration of a point cloud (returns bifiltrations)"},
            "rips_function": {"target": ".filtrations:RipsFunction", "summary": "Rips x lower-star of a user / named function on a point cloud (returns bifiltrations)"},
            "degree_rips": {"target": ".filtrations:DegreeRips", "summary": "degree-Rips bifiltration of a point cloud via multipers.function_rips (returns bifiltrations)"},
            "graph_degree_rips": {"target": ".filtrations:GraphDegreeRips", "summary": "degree-Rips bifiltration of a graph's shortest-path metric (returns bifiltrations)"},
            "delaunay_core": {"target": ".filtrations:DelaunayCore", "summary": "Delaunay core bifiltration (alpha x k-NN core) via multipers (returns bifiltrations)"},
            "graph_function_bifiltration": {"target": ".filtrations:GraphFunctionBifiltration", "summary": "clique bifiltration of a torch-geometric graph by node/edge functions (returns bifiltrations)"},
            "cubical_bifiltration": {"target": ".filtrations:CubicalBifiltration", "summary": "bifiltered cubical complex of an image (returns bifiltrations)"},
            "signed_measure": {"target": ".signed_measures:SignedMeasure", "summary": "Hilbert/Euler signed measures + convolution or sliced-Wasserstein features, differentiable in torch"},
            "mma": {"target": ".mma:MMA", "summary": "multiparameter module approximation vectorised as image or landscape"},
            "mma_image": {"target": ".mma:MMAImage", "summary": "MMA image representation (NeurIPS 2023)"},
            "mma_landscape": {"target": ".mma:MMALandscape", "summary": "MMA multiparameter persistence landscapes"},
            "persistence_image_1p": {"target": ".baseline:PersistenceImage1P", "summary": "one-parameter baseline: gudhi Rips persistence images"},
        },
        "encoder": {
            "signed_measure_net": {"target": ".encoder:SignedMeasureNet", "summary": "learnable Rips x f_theta bifiltration -> Hilbert signed measures -> convolution -> logits"},
            "signed_measure_conv": {"target": ".encoder:SignedMeasureConv", "summary": "layer: Gaussian convolution of signed measures with learnable bandwidth"},
        },
        "dataset": {
            "outlier_point_clouds": {"target": ".datasets:OutlierPointClouds", "summary": "disk / circle / two circles drowned in uniform outliers (class = shape)"},
        },
    },
    "extras": ["tda"],
    "verified": [
        "signed measures equal direct multipers.signed_measure calls (exact; Rips x codensity, cubical, Delaunay core)",
        "graph H0 Hilbert measure equals networkx connected components + Moebius inversion (exact)",
        "Hilbert signed measure equals brute-force Moebius inversion of gudhi Betti numbers (exact)",
        "MMA image and landscape equal an independent numpy implementation of the paper's formulas",
        "invariance to permutations and rigid motions (1e-13); MMA image of 60-point Gaussian clouds bit-identical under "
        "permutations (canonical vertex numbering; 3 seeds); gradcheck and finite differences in float64 (1e-7)",
        "signed-measure atoms and point gradients equal multipers' own torch autodiff (atoms exact, gradients 2e-16)",
        "sliced Wasserstein equals POT with the same directions (1e-9); convolution equals multipers (rtol 1e-3)",
    ],
    "claims": [
        {
            "id": "mma_beats_one_parameter",
            "claim": "MMA image representations (Rips x codensity) classify noisy point clouds more accurately than "
            "one-parameter persistence images, at every non-zero outlier fraction",
            "paper": "MMA representations outperform one-parameter and earlier multiparameter baselines on classification "
            "(qualitative; the paper's tables were not retrievable, numbers not confirmed)",
            "where": "NeurIPS 2023 (Loiseaux et al.), Sec. 5 experiments",
            "metric": "5-fold CV accuracy of a logistic regression",
            "direction": "ordering",
        },
        {
            "id": "mma_stability",
            "claim": "The MMA image is stable: its difference quotient under point perturbations stays bounded as the "
            "perturbation shrinks",
            "paper": "the representations are Lipschitz-stable with respect to the interleaving distance of the decompositions",
            "where": "NeurIPS 2023 (Loiseaux et al.), stability theorem, Sec. 4",
            "metric": "max|F(x + eps xi) - F(x)| / eps for eps = 1e-1 ... 1e-4",
            "direction": "shape",
        },
        {
            "id": "gradient_matches_finite_differences",
            "claim": "Gradients of signed-measure convolution features w.r.t. the points, read off the filtration values "
            "of the atoms' simplices, equal central finite differences",
            "paper": "signed-measure vectorisations are differentiable almost everywhere, with the gradient given by the "
            "chain rule through the filtration values",
            "where": "ICML 2024 (Scoccola et al.), Sec. 3-4",
            "metric": "max |autograd - central differences| / max |gradient|",
            "direction": "match",
        },
        {
            "id": "point_cloud_optimisation",
            "claim": "Gradient descent on a loss of the H1 Hilbert signed measure of Rips x codensity moves the points so "
            "that the targeted topological feature appears",
            "paper": "losses of multiparameter descriptors can be minimised by (sub)gradient descent on the input "
            "(convergence result and point-cloud optimisation examples; qualitative)",
            "where": "ICML 2024 (Scoccola et al.), optimisation section and point-cloud experiment",
            "metric": "H1 Hilbert value at a fixed bi-grade, before -> after",
            "direction": "higher",
        },
        {
            "id": "learned_filtration_beats_fixed",
            "claim": "signed_measure_net with a learned filtration reaches a higher test accuracy than the same net with "
            "the fixed codensity filtration",
            "paper": "optimising the filtration of multiparameter descriptors improves classification (qualitative, from "
            "the abstract; numbers not confirmed)",
            "where": "ICML 2024 (Scoccola et al.), abstract and classification experiments",
            "metric": "test accuracy, mean over 3 data seeds",
            "direction": "ordering",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
