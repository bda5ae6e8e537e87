"""Plugin: bootstrap AMG embedding + modified k-means for attributed graph clustering (D'Ambra et al.). Light."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "bootstrap_amg",
    "title": "Bootstrap AMG for clustering attributed graphs",
    "summary": "Clusters the nodes of a graph with categorical node attributes: the graph is augmented with one "
    "vertex per attribute value (SA-Cluster), the smooth vectors of a bootstrap algebraic multigrid solver for "
    "its Laplacian embed the vertices, and a modified k-means on each node's own and attribute-vertex "
    "coordinates (restarts selected by modularity) clusters them. A cheap alternative to eigenvectors for "
    "spectral-like clustering of large sparse graphs.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Extending bootstrap AMG for clustering of attributed graphs",
            "authors": ["Pasqua D'Ambra", "Panayot S. Vassilevski", "Luisa Cutillo"],
            "year": 2023,
            "venue": "Applied Mathematics and Computation 447, 127904",
            "url": "https://doi.org/10.1016/j.amc.2023.127904",
        },
        {
            "title": "Bootstrap AMG for spectral clustering",
            "authors": ["Pasqua D'Ambra", "Luisa Cutillo", "Panayot S. Vassilevski"],
            "year": 2019,
            "venue": "Computational and Mathematical Methods 1, e1020",
            "url": "https://doi.org/10.1002/cmm4.1020",
        },
    ],
    "components": {
        "descriptor": {
            "bootstrap_amg": {"target": ".bamg:BootstrapAMG", "summary": "attribute-augmented graph -> bootstrap AMG smooth vectors -> super-node coordinates (modified k-means)"},
        },
        "dataset": {
            "attributed_sbm": {"target": ".bamg:AttributedSBM", "summary": "stochastic block model with block-correlated categorical node attributes (clustering)"},
        },
    },
    "extras": [],
    "verified": [
        "augmented graph: N + sum_a |values(a)| vertices and |E| + N * n_attr edges (exact)",
        "L = E^T E equals networkx's Laplacian of the unweighted augmented graph (exact); L + s s^T is SPD (Cholesky)",
        "modified k-means equals scikit-learn KMeans (Lloyd) from the same centroids on the block features (identical labels)",
        "modularity equals networkx.community.modularity (1e-12)",
        "the bootstrap's convergence-factor estimate decreases and reaches conv_ratio; the smooth vectors' span "
        "contains the Laplacian's lowest eigenvector (projection > 0.999)",
        "compatible weighted matching: weights equal 1 - 2 a_ij w_i w_j / (a_ii w_i^2 + a_jj w_j^2) (1e-12), the matching "
        "is valid and maximal, prolongators are orthonormal and interpolate w exactly (1e-14), aggregates <= 4 vertices",
    ],
    "claims": [
        {
            "id": "attributes_improve_clustering",
            "claim": "augmenting the graph with attribute vertices improves the clustering over the structure-only bootstrap AMG",
            "paper": "attribute-augmented bootstrap AMG recovers communities better than the structure-only method on attributed networks",
            "where": "Sec. 5 (experiments on attributed graphs)",
            "metric": "ARI vs planted blocks, attributed SBM (3 x 100, p_in 0.06, p_out 0.03, 2 attributes, signal 0.7), mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "comparable_to_spectral",
            "claim": "bootstrap AMG smooth vectors cluster about as well as exact Laplacian eigenvectors (spectral clustering) of the augmented graph",
            "paper": "bootstrap AMG is a cheap substitute for the eigenvectors used by spectral clustering",
            "where": "Sec. 3-5; Bootstrap AMG for spectral clustering (2019)",
            "metric": "ARI, bootstrap AMG vs eigsh eigenvectors (same block features and modified k-means), same SBM",
            "direction": "ordering",
        },
        {
            "id": "real_attributed_networks",
            "claim": "results on real attributed networks (e.g. Lazega lawyers, yeast) in the paper's tables",
            "paper": "modularity / entropy tables",
            "where": "Sec. 5",
            "metric": "modularity, entropy",
            "direction": "ordering",
            "not_echoed": "the real networks are not shipped here (the authors' sample inputs carry no licence we can rely on) and nothing may be downloaded",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
