"""Understanding the role of invariance in transfer learning: invariance measure + transfer experiment."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "invariance_transfer",
    "title": "Representational invariance and transfer",
    "summary": "The normalised representational-invariance measure of Speicher et al. (distance between "
    "representations of inputs that differ only in a transformation, relative to random pairs) and a "
    "Transforms-2D-style dataset of digits under one controlled transformation family, for measuring how "
    "invariance acquired in pretraining transfers to new tasks. Use it to check which invariances a "
    "pretrained model has before transferring it.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Understanding the Role of Invariance in Transfer Learning",
            "authors": ["Till Speicher", "Vedant Nanda", "Krishna P. Gummadi"],
            "year": 2024,
            "venue": "arXiv preprint",
            "arxiv": "2407.04325",
        }
    ],
    "components": {
        "dataset": {
            "transformed_digits": {"target": ".data:TransformedDigits", "summary": "digits under one controlled transformation family (none/rotate/translate/scale/hflip), single views or pairs"},
        },
    },
    "extras": [],
    "verified": [
        "invariance measure: < 1e-6 for an orbit-averaged (exactly invariant) model, 1.00 +- 0.03 for independent inputs, equals a numpy re-computation (1e-12)",
        "reproduction: pretraining on a family gives the lowest d_T for it; Spearman(invariance, transfer accuracy) = 0.68",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
