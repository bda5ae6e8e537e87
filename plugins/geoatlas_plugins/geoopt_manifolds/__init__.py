"""Built-in plugin: geoopt's manifolds registered as geoatlas components."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "geoopt_manifolds",
    "title": "geoopt manifolds",
    "summary": "geoopt's Euclidean, Sphere, PoincareBall, Lorentz, Stiefel and SPD manifolds.",
    "status": "stable",
    "api": ">=1,<2",
    "papers": [
        {
            "title": "Riemannian Adaptive Optimization Methods",
            "authors": ["Gary Bécigneul", "Octavian-Eugen Ganea"],
            "year": 2019,
            "venue": "ICLR",
            "arxiv": "1810.00760",
        }
    ],
    "components": {
        "manifold": {
            "euclidean": {"target": ".manifolds:Euclidean", "summary": "flat R^n (geoopt.Euclidean)"},
            "sphere": {"target": ".manifolds:Sphere", "summary": "unit sphere S^{n-1} (geoopt.Sphere)"},
            "poincare_ball": {"target": ".manifolds:PoincareBall", "summary": "Poincaré ball of curvature -c (geoopt.PoincareBall)"},
            "lorentz": {"target": ".manifolds:Lorentz", "summary": "hyperboloid model of curvature -1/k (geoopt.Lorentz)"},
            "stiefel": {"target": ".manifolds:Stiefel", "summary": "orthonormal n x p frames (geoopt.Stiefel, canonical metric)"},
            "spd": {"target": ".manifolds:SPD", "summary": "symmetric positive-definite matrices (geoopt.SymmetricPositiveDefinite)"},
        }
    },
    "verified": [
        "geoatlas.testing.check_manifold on every manifold: projx idempotent, dist(x, exp_x(v)) = |v|_x, log_x(exp_x(v)) = v, symmetry",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
