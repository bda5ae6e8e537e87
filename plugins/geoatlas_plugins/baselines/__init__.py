"""Built-in plugin: small Euclidean baselines so every pipeline can train end to end."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "baselines",
    "title": "Euclidean baselines",
    "summary": "A multilayer perceptron (any input, flattened) and a small CNN for images: the "
    "non-geometric reference points that the papers' methods are compared with.",
    "status": "stable",
    "api": ">=1,<2",
    "components": {
        "encoder": {
            "mlp": {"target": ".models:MLP", "summary": "multilayer perceptron on flattened input"},
            "cnn": {"target": ".models:CNN", "summary": "small convolutional network for images"},
            "linear_forecaster": {"target": ".forecasting:LinearForecaster", "summary": "per-channel linear map from the input window to the horizon (the 'Linear' baseline of Zeng et al. 2023)"},
            "ctr_embedding_mlp": {"target": ".ctr:EmbeddingMLP", "summary": "field embeddings, concatenated, then an MLP to a click logit"},
            "ctr_logistic": {"target": ".ctr:Logistic", "summary": "logistic regression on one-hot fields (a bias per category value)"},
            "distmult": {"target": ".kg:DistMult", "summary": "DistMult knowledge-graph embedding: score <e_h, w_r, e_t>"},
            "node_embedding": {"target": ".kg:NodeEmbedding", "summary": "free node embeddings scored by dot product (link prediction on one graph)"},
            "gaussian_density": {"target": ".generative:GaussianDensity", "summary": "a full-covariance Gaussian fitted by maximum likelihood: log_prob and sample"},
        }
    },
    "verified": ["plugins/geoatlas_plugins/baselines/tests: output shapes, training reduces the loss on separable data"],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
