"""Augmented covariance matrices (delay-embedded covariances) and Riemannian MDM classification."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "augmented_covariance",
    "title": "Augmented covariance matrix (ACM) with Riemannian minimum distance to mean",
    "summary": "The augmented covariance matrix of multichannel signals: the covariance of a delay "
    "embedding [x(t); x(t-tau); ...; x(t-(p-1)tau)], i.e. the Yule-Walker matrix of an AR model, "
    "with (order, lag) chosen by cross-validated grid search (the paper's 1..10 x 1..10) or by the authors' "
    "aFNN procedure (mutual information, Cao's averaged false nearest neighbours; MDOP not implemented); classified by Riemannian minimum distance to "
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
    "claims": [
        {
            "id": "acm_beats_covariance_mdm",
            "claim": "MDM on the augmented covariance matrix (order, lag by grid search) classifies better than MDM on the plain spatial covariance",
            "paper": "ACM + MDM noticeably better than covariance + MDM and the other state-of-the-art pipelines (MOABB motor imagery, within- and cross-session)",
            "where": "abstract (Results); MOABB comparison",
            "metric": "held-out MDM accuracy, ACM (grid) vs spatial covariance",
            "direction": "ordering",
        },
        {
            "id": "acm_yule_walker_structure",
            "claim": "the ACM is SPD with the block-Toeplitz Yule-Walker structure of an AR model, and order 1 gives the spatial covariance",
            "paper": "ACM = the SPD matrix of the Yule-Walker equations (block-Toeplitz autocovariances); order 1 is the ordinary covariance",
            "where": "Methods (AR model, Yule-Walker equations)",
            "metric": "max relative deviation from block-Toeplitz (circular ACM) and from numpy.cov (order 1); min eigenvalue",
            "direction": "match",
        },
        {
            "id": "embedding_hyperparameters_vs_grid",
            "claim": "(order, lag) from the authors' aFNN procedure (Takens: mutual information for the lag, Cao's averaged false nearest neighbours for the order) gives accuracy close to grid search",
            "paper": "embedding-based hyper-parameters offered as an alternative to grid search with comparable accuracy (exact numbers not confirmed here)",
            "where": "abstract (Methods); hyper-parameter selection section",
            "metric": "held-out MDM accuracy, ACM (aFNN) minus ACM (grid)",
            "direction": "match",
        },
        {
            "id": "moabb_motor_imagery",
            "claim": "ACM + MDM accuracy on the MOABB motor-imagery datasets against the state of the art",
            "paper": "ACM better than every state-of-the-art pipeline compared (MOABB)",
            "where": "Results tables (MOABB within-session / cross-session)",
            "metric": "MOABB accuracy / ROC-AUC",
            "direction": "higher",
            "not_echoed": "needs the MOABB EEG datasets, which cannot be downloaded here",
        },
    ],
    "verified": [
        "ACM equals pyriemann TimeDelayCovariances (circular boundary) to 1e-12; truncated ACM equals pyriemann covariances of its cropped embedding",
        "closed-form MDM class means and predictions equal pyriemann.classification.MDM",
        "tangent features equal pyriemann TangentSpace at the same reference",
        "Cao's E1 equals an independent O(N^2) evaluation; below 0.5 at d = 1 and near 1 from d = 2 on the Henon map",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
