"""Plugin: the Aitchison simplex and compositional partial correlations (Erb 2020)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "compositional_partial_correlation",
    "title": "Partial correlations in compositional data analysis",
    "summary": "The Aitchison geometry of the open simplex as a geoopt-compatible manifold (clr/ilr "
    "isometry, exp/log/dist, Riemannian gradients) and Erb's reference-free partial correlations "
    "between parts of compositions, obtained from the Moore-Penrose inverse of the clr covariance. "
    "Use it for compositional data (proportions, relative abundances, geochemistry): raw-proportion "
    "correlations are spurious there, log-ratio partial correlations are not.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Partial Correlations in Compositional Data Analysis",
            "authors": ["Ionas Erb"],
            "year": 2020,
            "venue": "Applied Computing and Geosciences 6:100026",
            "arxiv": "1904.09480",
        }
    ],
    "components": {
        "manifold": {
            "aitchison_simplex": {
                "target": ".simplex:AitchisonSimplex",
                "summary": "open simplex with the Aitchison metric (clr isometry to a hyperplane)",
            }
        },
        "descriptor": {
            "compositional_partial_correlation": {
                "target": ".partial_correlation:CompositionalPartialCorrelation",
                "summary": "per-sample partial correlations (clr precision) of a set of compositions",
            }
        },
        "dataset": {
            "logistic_normal_networks": {
                "target": ".partial_correlation:LogisticNormalNetworks",
                "summary": "sets of logistic-normal compositions; class = sparse log-ratio network",
            }
        },
    },
    "extras": [],
    "verified": [
        "reference independence: OLS residuals of log(x_i/x_r) on the other log-ratios agree for every reference r (max diff ~1e-13)",
        "partial correlations from pinv(clr covariance) equal those from alr coordinates with any reference r outside {i,j} and from residual correlations (numpy lstsq)",
        "check_manifold on aitchison_simplex; Riemannian gradient checked against finite differences",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
