"""Plugin: intrinsic dimension of objective landscapes (Li et al., ICLR 2018). Keep this module
light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "intrinsic_dimension",
    "title": "Measuring the intrinsic dimension of objective landscapes",
    "summary": "Train a network in a random d-dimensional subspace of its parameter space, theta = "
    "theta_0 + P z (dense or sparse random P, only z trained), and find the smallest d whose accuracy "
    "reaches 90 % of direct training (d_int90): a measure of how hard a problem is for an architecture. "
    "The measure works on any registered encoder that outputs class logits; the encoder wrapper trains "
    "any registered encoder in a subspace inside a pipeline.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Measuring the Intrinsic Dimension of Objective Landscapes",
            "authors": ["Chunyuan Li", "Heerad Farkhoor", "Rosanne Liu", "Jason Yosinski"],
            "year": 2018,
            "venue": "ICLR",
            "arxiv": "1804.08838",
        }
    ],
    "components": {
        "measure": {
            "intrinsic_dimension": {
                "target": ".subspace:IntrinsicDimension",
                "summary": "d_int90: smallest random-subspace dimension whose held-out accuracy reaches 90 % of direct training",
            }
        },
        "encoder": {
            "subspace_encoder": {
                "target": ".subspace:SubspaceEncoder",
                "summary": "any registered encoder trained in a random subspace theta = theta_0 + P z (dense or sparse P)",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "mnist_fc_dint90",
            "claim": "a fully connected network on handwritten digits has an intrinsic dimension of a few hundred, far below its parameter count",
            "paper": "MNIST, FC 784-200-200-10 (D = 199,210): d_int90 = 750",
            "where": "Sec. 3.1 / Table 1",
            "metric": "d_int90 of an MLP 64-100-100-10 (D = 17,610) on scikit-learn digits (8x8), dense P",
            "direction": "match",
        },
        {
            "id": "dint_stable_across_widths",
            "claim": "d_int90 varies little with the width of the network although D changes several-fold",
            "paper": "the intrinsic dimension varies little across a family of models with vastly different sizes (abstract; MNIST FC of varying width and depth)",
            "where": "Sec. 3.1, Fig. 3",
            "metric": "d_int90 of MLPs 64-w-w-10 with w in {50, 100, 200}; ratio of largest to smallest",
            "direction": "shape",
        },
        {
            "id": "sparse_equals_dense",
            "claim": "a sparse random projection gives the same intrinsic dimension as a dense one",
            "paper": "sparse projections reach the same results at lower cost",
            "where": "Sec. 2 / appendix (projection methods)",
            "metric": "d_int90 dense vs sparse P, MLP 64-100-100-10 on digits",
            "direction": "shape",
        },
        {
            "id": "accuracy_rises_with_d",
            "claim": "held-out accuracy rises with the subspace dimension d towards the directly trained baseline",
            "paper": "performance vs d curves rise monotonically (Fig. 2)",
            "where": "Fig. 2",
            "metric": "accuracy vs d (dense P), violations of monotonicity larger than 0.01",
            "direction": "shape",
        },
    ],
    "verified": [
        "d = D with P = I follows the direct training trajectory (SGD, float64) to 1e-12",
        "dL/dz equals P^T dL/dtheta (autograd through the wrapper vs the base model's gradient times P^T), dense and sparse, to 1e-6",
        "unit-norm columns of P (dense and sparse) to 1e-6; sparse density ~ 1/sqrt(D)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
