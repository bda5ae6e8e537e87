"""Automatic data augmentation via invariance-constrained learning (primal-dual + MCMC)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "invariance_constrained_augmentation",
    "title": "Invariance-constrained learning with MCMC-sampled augmentations",
    "summary": "Wraps any registered image encoder and trains it on a constrained problem: minimise the "
    "loss subject to a bound on the loss of transformed samples, where transformations are drawn by a "
    "Metropolis-Hastings chain from the loss-tilted distribution and a dual variable decides how much "
    "augmentation is applied. Use it instead of hand-tuned augmentation policies; the sampled "
    "transformations show which ones the task is (not) invariant to.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Automatic Data Augmentation via Invariance-Constrained Learning",
            "authors": ["Ignacio Hounie", "Luiz F. O. Chamon", "Alejandro Ribeiro"],
            "year": 2023,
            "venue": "ICML",
            "arxiv": "2209.15031",
        }
    ],
    "components": {
        "encoder": {
            "invariance_constrained": {"target": ".model:InvarianceConstrained", "summary": "primal-dual invariance-constrained training of a backbone with an MH sampler over image transformations"},
        },
    },
    "extras": [],
    "verified": [
        "MH chain: empirical state frequencies match the loss-proportional target (chi-square test)",
        "dual variable stays 0 while the constraint is slack and grows while it is violated",
        "transformations: exact flips/rot180 against torch.flip; affine ops compose as matrices",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
