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
        }
    },
    "verified": ["plugins/geoatlas_plugins/baselines/tests: output shapes, training reduces the loss on separable data"],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
