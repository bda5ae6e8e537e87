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
        }
    },
    "verified": ["invariance under random SE(3) elements and permutations (max error < 1e-12)"],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
