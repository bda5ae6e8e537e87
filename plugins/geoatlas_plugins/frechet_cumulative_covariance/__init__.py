"""Plugin: Fréchet cumulative covariance and FCCov-Net (Yuan, Wang, Yu 2025)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "frechet_cumulative_covariance",
    "title": "Fréchet cumulative covariance net for nonlinear sufficient dimension reduction",
    "summary": "A dependence measure between Euclidean predictors and metric-space responses (sphere, "
    "SPD matrices, distributions, any distance matrix) built from indicators of metric balls, computed "
    "in O(n^2 log n), with a permutation test; and FCCov-Net, a neural network trained to maximise it "
    "for nonlinear sufficient dimension reduction with random-object responses.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Fréchet Cumulative Covariance Net for Deep Nonlinear Sufficient Dimension Reduction with Random Objects",
            "authors": ["Hang Yuan", "Christina Dan Wang", "Zhou Yu"],
            "year": 2025,
            "venue": "arXiv preprint",
            "arxiv": "2502.15374",
        }
    ],
    "components": {
        "encoder": {
            "fccov_net": {"target": ".fccov:FCCovNet", "summary": "network maximising FCCov(f(X), Y) with a Frobenius penalty"}
        },
        "descriptor": {
            "fccov_sdr": {"target": ".fccov:FCCovSDR", "summary": "supervised SDR: fit FCCov-Net on (X, Y), transform to f(X)"}
        },
        "dataset": {
            "sphere_response_regression": {
                "target": ".fccov:SphereResponseRegression",
                "summary": "Gaussian predictors, responses on S^2 driven by two nonlinear indices",
            }
        },
    },
    "extras": [],
    "verified": [
        "O(n^2 log n) estimator = naive O(n^3) estimator = kernel quadratic form (1e-12)",
        "invariant to isometries of the response space and to increasing transforms of the metric",
        "permutation test: level close to alpha under independence, power under dependence",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
