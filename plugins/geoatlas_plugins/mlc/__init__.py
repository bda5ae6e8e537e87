"""Plugin: MLC, unsupervised manifold linearizing and clustering (Ding et al., ICCV 2023)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "mlc",
    "title": "Unsupervised manifold linearizing and clustering (MLC)",
    "summary": "Maximal coding rate reduction optimised over both the representation and a doubly stochastic "
    "membership (Sinkhorn projection of the cluster head's affinities): loss `mlc`, the two-head encoder "
    "`mlc_head` (subspace and cluster features, one-shot initialisation, spectral clustering of the "
    "membership) and the synthetic `union_of_curves` data.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Unsupervised Manifold Linearizing and Clustering",
            "authors": ["Tianjiao Ding", "Shengbang Tong", "Kwan Ho Ryan Chan", "Xili Dai", "Yi Ma", "Benjamin D. Haeffele"],
            "year": 2023,
            "venue": "ICCV",
            "arxiv": "2301.01805",
        }
    ],
    "components": {
        "loss": {
            "mlc": {"target": ".mlc:MLCLoss", "summary": "-R(Z) + gamma R_c(Z, Gamma) + gamma_reg/2 ||Gamma||^2 with Gamma = n Sinkhorn(|C C^T|)"},
        },
        "encoder": {
            "mlc_head": {"target": ".mlc:MLCHead", "summary": "MLP with subspace and cluster heads on the sphere; clusters by spectral clustering of the membership"},
        },
        "dataset": {
            "union_of_curves": {"target": ".mlc:UnionOfCurves", "summary": "circle, sine curve and helix in random 3-d subspaces of R^D plus noise (class = curve)"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "mlc_clusters_union_of_manifolds",
            "claim": "MLC clusters data on a union of non-linear manifolds more accurately than k-means and spectral clustering on the inputs",
            "paper": "MLC is more accurate than k-means / spectral clustering and state-of-the-art deep clustering (CIFAR-10/20/100, TinyImageNet-200; synthetic manifolds)",
            "where": "Sec. 4, tables of clustering accuracy",
            "metric": "Hungarian-matched clustering accuracy on union_of_curves (3 x 300 points in R^50), mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "mlc_linearizes",
            "claim": "the learned representation of each cluster lies close to a linear subspace, and the subspaces of different clusters are close to orthogonal",
            "paper": "learns a latent union-of-orthogonal-subspaces representation (the MCR2 optimum)",
            "where": "abstract; Sec. 3 and the visualisations of the learned features",
            "metric": "mean principal angle (degrees) between the true classes' top-5 singular subspaces of Z (d = 16, k = 3), and the energy fraction of each class in its top-5 directions",
            "direction": "higher",
        },
        {
            "id": "mlc_cifar_accuracy",
            "claim": "MLC reaches state-of-the-art clustering accuracy on CIFAR-10/20/100 and TinyImageNet-200 from self-supervised initial features",
            "paper": "tables of CIFAR-10/20/100 and TinyImageNet-200 accuracy",
            "where": "Sec. 4",
            "metric": "clustering accuracy",
            "direction": "higher",
            "not_echoed": "needs CIFAR / TinyImageNet and self-supervised pre-trained features, which cannot be downloaded here",
        },
    ],
    "verified": [
        "hard memberships: R_c equals the classical MCR2 formula to 1e-10 and mcr2.primitives.coding_rate.Rc (eps = sqrt of ours, float32 class counts) to 1e-6; R equals mcr2's R",
        "orthogonal subspaces: R_c = sum_c (n_c/2n) r log(1 + d/(eps r)) and R from the eigenvalues n_c/(n r), closed forms to 1e-8",
        "Sinkhorn in half-steps as CPP counts them: row sums 1 to 1e-12 after 5 (columns within 5e-2, measured 0.035), column sums 1 after 4, both to 1e-8 after 200; symmetric input gives a symmetric Gamma; equals POT's ot.sinkhorn times n",
        "spectral clustering of the ground-truth membership recovers the partition (ARI 1)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
