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
    "claims": [
        {
            "id": "radam_faster_lower_loss",
            "claim": "Riemannian Adam converges faster and to a lower training loss than Riemannian SGD when embedding a taxonomy in the Poincaré ball",
            "paper": "RADAM (and RAMSGRAD) below RSGD in training loss throughout training on WordNet nouns",
            "where": "abstract; Sec. 5 (WordNet embedding, training-loss and MAP figures)",
            "metric": "training loss after 5 epochs and at the end (MAP alongside)",
            "direction": "ordering",
        },
        {
            "id": "regret_sqrt_t",
            "claim": "on geodesically convex objectives Riemannian AMSGrad has regret O(sqrt T), so the average regret goes to 0",
            "paper": "regret bound O(sqrt T) (convergence theorem for RAMSGRAD / RADAGRAD)",
            "where": "Sec. 4 (convergence guarantees)",
            "metric": "log-log slope of the measured regret R_T against T",
            "direction": "shape",
        },
    ],
    "verified": [
        "geoatlas.testing.check_manifold on every manifold: projx idempotent, dist(x, exp_x(v)) = |v|_x, log_x(exp_x(v)) = v, symmetry",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
