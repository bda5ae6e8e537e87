"""Plugin: relative representations (Moschella et al., ICLR 2023). Light module: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "relative_representation",
    "title": "Relative representations enable zero-shot latent space communication",
    "summary": "Represents each sample by the cosine similarities of its latent to the latents of a "
    "fixed set of anchor samples. The relative space is invariant to orthogonal maps and rescaling "
    "of the latent space, so independently trained encoders agree on it and decoders can be "
    "swapped between them without training (zero-shot model stitching). Use the descriptor on "
    "embeddings of frozen models, the head to train a classifier that is stitchable.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Relative representations enable zero-shot latent space communication",
            "authors": ["Luca Moschella", "Valentino Maiorca", "Marco Fumero", "Antonio Norelli", "Francesco Locatello", "Emanuele Rodolà"],
            "year": 2023,
            "venue": "ICLR",
            "arxiv": "2209.15430",
        }
    ],
    "components": {
        "descriptor": {
            "relative_projection": {
                "target": ".relrep:RelativeProjection",
                "summary": "cosine similarities of embeddings to anchor embeddings (fit(anchors), transform(X))",
            }
        },
        "encoder": {
            "relative_head": {
                "target": ".relrep:RelativeHead",
                "summary": "MLP encoder -> cosine to the re-encoded anchors -> LayerNorm -> decoder (stitchable classifier)",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "relative_stitching",
            "claim": "zero-shot stitching works with relative representations and fails with absolute ones: a decoder trained on one encoder classifies the latents of another, independently trained encoder",
            "paper": "stitching tables (MNIST, F-MNIST, CIFAR-10/100): absolute stitching collapses, relative stitching stays near the non-stitched score",
            "where": "Sec. 5.1-5.2, stitching tables",
            "metric": "digits test accuracy of the stitched pairs (encoder i, decoder j, i != j), relative vs absolute, 2 encoders x 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "relative_no_loss",
            "claim": "training on relative representations costs little accuracy compared with absolute ones (non-stitched)",
            "paper": "relative and absolute models within a few points on the non-stitched diagonal",
            "where": "stitching tables (diagonal)",
            "metric": "digits test accuracy, relative head vs absolute head with the same encoder (mean of 3 seeds)",
            "direction": "match",
        },
        {
            "id": "latent_similarity",
            "claim": "the relative representations of two independently trained encoders are much more similar than their absolute latents",
            "paper": "cosine similarity / Jaccard of the neighbourhoods across seeds much higher in the relative space",
            "where": "Sec. 4 (latent similarity across trainings)",
            "metric": "mean cosine between the two encoders' representations of the same test sample, relative vs absolute",
            "direction": "higher",
        },
        {
            "id": "relative_nlp_vision",
            "claim": "stitching across pretrained transformers, languages and modalities (Amazon reviews, ViTs)",
            "paper": "cross-lingual and cross-architecture stitching results",
            "where": "Sec. 5.2-5.3",
            "metric": "accuracy / F1",
            "direction": "higher",
            "not_echoed": "needs pretrained transformers and datasets to be downloaded",
        },
    ],
    "verified": [
        "exact invariance of relative_projection under random orthogonal maps and positive rescalings of both samples and anchors (float64: 1e-12; hypothesis over dimensions and scales); it fails under a translation (negative test)",
        "with k = d orthonormal anchors, r(x) is the unit vector of x in the anchor basis (isometry)",
        "the head's relative representation equals relative_projection of its own latents to 1e-6",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
