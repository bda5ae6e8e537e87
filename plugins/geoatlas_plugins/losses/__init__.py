"""Plugin: the built-in losses that the supervised tasks use by default."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "losses",
    "title": "Built-in losses",
    "summary": "Cross-entropy and mean squared error as registered losses (the classification and "
    "regression tasks' defaults), and the NT-Xent / InfoNCE contrastive loss of SimCLR as the "
    "reference objective for representation learning.",
    "api": ">=1,<2",
    "status": "stable",
    "components": {
        "loss": {
            "cross_entropy": {"target": ".basic:CrossEntropy", "summary": "softmax cross-entropy of logits against class ids"},
            "mse": {"target": ".basic:MSE", "summary": "mean squared error"},
            "mae": {"target": ".basic:MAE", "summary": "mean absolute error (L1)"},
            "bce": {"target": ".basic:BCE", "summary": "binary cross-entropy of logits against 0/1 targets"},
            "nll": {"target": ".generative:NegativeLogLikelihood", "summary": "mean negative log-likelihood, for density models whose forward returns log p(x)"},
            "info_nce": {"target": ".contrastive:InfoNCE", "summary": "NT-Xent / InfoNCE of SimCLR over two views (temperature-scaled cosine similarities)"},
        },
    },
    "verified": [
        "cross_entropy, mse, mae and bce equal torch.nn.functional's to 1e-12 and pass geoatlas.testing.check_loss",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
