"""Plugin: maximal update parametrization, muP (Tensor Programs IV, ICML 2021). Keep this module
light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "mup",
    "title": "Feature learning in infinite-width neural networks (muP, Tensor Programs IV)",
    "summary": "The maximal update parametrization for any registered encoder: readout multiplier 1/width "
    "with sqrt(width)-scaled readout initialisation and per-layer learning rates (Adam: hidden matrices "
    "lr/width; SGD: vector-like lr*width), exactly as the mup package's MuReadout/MuAdam/MuSGD define them, "
    "realised as parameter multipliers so a pipeline's single-learning-rate optimiser trains in muP; and the "
    "coordinate check (activation sizes vs width after a few steps). Use muP to tune the learning rate on a "
    "narrow model and reuse it on wide ones.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Feature Learning in Infinite-Width Neural Networks",
            "authors": ["Greg Yang", "Edward J. Hu"],
            "year": 2021,
            "venue": "ICML",
            "arxiv": "2011.14522",
        }
    ],
    "components": {
        "encoder": {
            "mup": {"target": ".mup_param:MuP", "summary": "any registered encoder in muP (mup-package rules as parameter multipliers), or SP for comparison"},
        },
        "measure": {
            "coordinate_check": {"target": ".mup_param:CoordinateCheck", "summary": "slope of log mean|activation| vs log width per layer after a few training steps"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "coordinates_stable_under_mup",
            "claim": "under muP every layer's activation coordinates stay O(1) as the width grows during training; under SP with a fixed learning rate they blow up with width",
            "paper": "coordinate checks: flat curves under muP, growing under SP/NTK (and the infinite-width limit of SP has no feature learning)",
            "where": "Sec. 8 / appendix (coordinate check); mup package README",
            "metric": "slope of log mean|h| of the logits vs log width (64..1024) after 5 Adam steps, muP vs SP",
            "direction": "ordering",
        },
        {
            "id": "optimal_lr_transfers",
            "claim": "the optimal learning rate stays put across widths under muP and drifts under SP",
            "paper": "hyperparameter stability across width under muP (shown in TP IV and TP V / the mup package)",
            "where": "TP IV experiments; mup README (MLP on CIFAR-10)",
            "metric": "argmin-lr of the training loss after 8 epochs (Adam, 7 log-spaced lrs) for widths 64/256/1024, MLP 64-n-n-10 on digits",
            "direction": "shape",
        },
        {
            "id": "wider_is_better_under_mup",
            "claim": "at a fixed learning rate, wider muP networks train at least as well (loss non-increasing in width)",
            "paper": "muP: performance improves monotonically with width",
            "where": "Sec. 9-10 (Word2Vec, Omniglot): finite-width muP approaches the limit from below",
            "metric": "training loss at the muP-optimal lr of width 64, widths 64/256/1024",
            "direction": "shape",
        },
        {
            "id": "word2vec_maml_limits",
            "claim": "the infinite-width muP limits of Word2Vec and MAML-Omniglot outperform NTK and finite width",
            "paper": "Word2Vec and Omniglot results computed from the Tensor Programs limit",
            "where": "Sec. 9-10",
            "metric": "word analogy accuracy, Omniglot accuracy",
            "direction": "higher",
            "not_echoed": "needs the text8 corpus / Omniglot (downloads) and the authors' infinite-width Tensor Programs computations",
        },
    ],
    "verified": [
        "learning-rate factors equal the mup package's MuAdam and MuSGD param groups (1e-12)",
        "init and readout: outputs equal MuReadout after set_base_shapes on the same weights (1e-5); readout weight and bias scaled by sqrt(m), input by 1/m",
        "5 Adam / SGD steps with multipliers follow MuAdam / MuSGD to 1e-4 (Adam's eps the only difference)",
        "at the base width muP equals SP",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
