"""geoatlas-d2-shape: the entry module only declares the manifest (no heavy imports)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "d2_shape",
    "title": "D2 shape distribution (example third-party plugin)",
    "summary": "Histogram of pairwise point distances, a rigid-motion invariant shape descriptor.",
    "api": ">=1,<2",
    "status": "stable",
    "papers": [
        {
            "title": "Shape Distributions",
            "authors": ["Robert Osada", "Thomas Funkhouser", "Bernard Chazelle", "David Dobkin"],
            "year": 2002,
            "venue": "ACM Transactions on Graphics",
        }
    ],
    "components": {
        "descriptor": {
            "d2_shape_distribution": {"target": ".d2:D2ShapeDistribution", "summary": "D2 histogram of pairwise distances"}
        },
        # The kinds of core v2, added by a third party without touching the core:
        "task": {"shape_retrieval": {"target": ".retrieval:ShapeRetrieval", "summary": "query shapes ranked against a gallery by feature distance"}},
        "metric": {
            "retrieval_precision_at_1": {"target": ".retrieval:PrecisionAt1", "summary": "fraction of queries whose nearest gallery shape has their class"},
            "balanced_accuracy": {"target": ".retrieval:BalancedAccuracy", "summary": "mean per-class recall"},
        },
        "measure": {"fisher_ratio": {"target": ".retrieval:FisherRatio", "summary": "between-class over within-class scatter of features"}},
        "loss": {"mutual_information_clustering": {"target": ".retrieval:MutualInformationClustering", "summary": "RIM objective (Krause et al. 2010): confident, balanced cluster assignments"}},
    },
    "verified": [
        "invariance under random SE(3) elements and permutations (max error < 1e-12)",
        "balanced_accuracy equals scikit-learn's to 1e-12; the RIM loss passes geoatlas.testing.check_loss",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
