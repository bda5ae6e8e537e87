"""Plugin: manifold entropy estimation against mode collapse (MEE, arXiv 2208.12055). Keep this
module light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "manifold_entropy",
    "title": "Manifold entropy estimation (MEE) against mode collapse",
    "summary": "The MEE entropy estimate log mean_i min_b ||e_i - b||^2 / k of discriminator embeddings against a "
    "replay buffer (the paper's FIFO, or the authors' code's per-position shrinking buffer), maximised for real and "
    "fake embeddings, with the DLLE (perturbation) and DIsoMap (interpolation) regularisers; the estimate as a "
    "measure on any embeddings; the 8-Gaussian ring for GAN mode-coverage experiments.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Combating Mode Collapse in GANs via Manifold Entropy Estimation",
            "authors": ["Haozhe Liu", "Bing Li", "Haoqian Wu", "Hanbang Liang", "Yawen Huang", "Yuexiang Li", "Bernard Ghanem", "Yefeng Zheng"],
            "year": 2023,
            "venue": "AAAI 2023",
            "arxiv": "2208.12055",
        }
    ],
    "components": {
        "loss": {
            "mee": {"target": ".mee:MEELoss", "summary": "-w H(embeddings) with a replay buffer + DLLE + DIsoMap; discriminator_loss / generator_loss for GANs"},
        },
        "measure": {
            "embedding_entropy": {"target": ".mee:EmbeddingEntropy", "summary": "MEE estimate log mean min ||e_i - e_j||^2 / k and the Kozachenko-Leonenko entropy of embeddings"},
        },
        "dataset": {
            "ring_of_gaussians": {"target": ".ring:RingOfGaussians", "summary": "2-D ring of 8 Gaussians (radius 2, sigma 0.02), label = mode"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "scale_law",
            "claim": "the MEE estimate shifts by exactly 2 log s when embeddings (and buffer) are scaled by s, for any embedding dimension k",
            "paper": "entropy estimated by the log of the mean nearest-neighbour squared distance (a k-NN entropy surrogate)",
            "where": "Sec. 3 (estimator); reference code train.py",
            "metric": "H(s e) - H(e) for s in {0.1, 2, 10}, k in {2, 8, 16}; slope of H vs log s for N(0, s^2 I)",
            "direction": "match",
        },
        {
            "id": "entropy_tracks_true_entropy",
            "claim": "the estimate increases with the true entropy of the embedding distribution",
            "paper": "MEE estimates the manifold entropy of the discriminator's embedding",
            "where": "Sec. 3",
            "metric": "Spearman correlation of the MEE estimate with scipy's Gaussian entropy over random covariances (k = 4)",
            "direction": "higher",
        },
        {
            "id": "mee_covers_more_modes",
            "claim": "on the 8-Gaussian ring a GAN trained with MEE covers more modes than without it",
            "paper": "MaEM-GAN alleviates mode collapse (synthetic mixtures and CIFAR/CelebA/ImageNet)",
            "where": "Sec. 4, synthetic experiments",
            "metric": "modes covered (>= 1% of 2500 samples within 3 sigma), tiny MLP GAN, MaF losses",
            "direction": "higher",
        },
    ],
    "verified": [
        "scale law: H(s e) - H(e) = 2 log s exactly (1e-10) for k = 2, 8, 16 with and without a FIFO buffer; the Kozachenko-Leonenko estimate shifts by k log s",
        "Kozachenko-Leonenko estimate vs scipy multivariate_normal entropy (within 0.15 nats at n = 4000); MEE estimate rank-correlated with it",
        "FIFO buffer keeps the last buffer_size embeddings; reference_code buffer shrinks by B - 1 slots per step to one batch, sample i vs column i",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
