"""Augmented covariance matrices (delay-embedded covariances) and Riemannian MDM classification."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "augmented_covariance",
    "title": "Augmented covariance matrix (ACM) with Riemannian minimum distance to mean",
    "summary": "The augmented covariance matrix of multichannel signals: the covariance of a delay "
    "embedding [x(t); x(t-tau); ...; x(t-(p-1)tau)], i.e. the Yule-Walker matrix of an AR model, "
    "with (order, lag) chosen by cross-validated grid search or by delay-embedding heuristics "
    "(mutual information, false nearest neighbours); classified by Riemannian minimum distance to "
    "the class means (closed-form MDM in Python, trainable MDM encoder with SPD ManifoldParameters). "
    "Use it when classes differ in temporal dynamics rather than in instantaneous covariance "
    "(EEG motor imagery, multichannel sensors).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Classification of BCI-EEG based on augmented covariance matrix",
            "authors": ["Igor Carrara", "Théodore Papadopoulo"],
            "year": 2023,
            "venue": "arXiv (IEEE TBME 2024)",
            "arxiv": "2302.04508",
        }
    ],
    "components": {
        "descriptor": {
            "augmented_covariance": {"target": ".acm:AugmentedCovariance", "summary": "augmented (delay-embedded) covariance matrices, SPD or tangent-space features"},
        },
        "encoder": {
            "mdm": {"target": ".mdm:MDMEncoder", "summary": "trainable Riemannian minimum-distance-to-mean classifier (class means on the spd manifold)"},
        },
        "dataset": {
            "synthetic_ar_signals": {"target": ".data:SyntheticARSignals", "summary": "two classes of VAR(2) signals with the same instantaneous covariance"},
        },
    },
    "extras": [],
    "verified": [
        "ACM equals pyriemann TimeDelayCovariances (circular boundary) to 1e-12; truncated ACM equals pyriemann covariances of its cropped embedding",
        "closed-form MDM class means and predictions equal pyriemann.classification.MDM",
        "tangent features equal pyriemann TangentSpace at the same reference",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
