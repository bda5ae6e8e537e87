"""Plugin: DEPICT deep clustering (Ghasedi Dizaji et al., ICCV 2017)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "depict",
    "title": "DEPICT: deep clustering via a convolutional autoencoder and relative-entropy minimisation",
    "summary": "A denoising convolutional autoencoder with a softmax clustering head, trained by the "
    "cross-entropy to balanced auxiliary targets (relative-entropy minimisation with a uniform prior on "
    "the cluster sizes) plus layer-wise reconstruction. Encoder `depict`, loss `depict_loss` (the paper's "
    "square-root target or the authors' code's square target).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Deep Clustering via Joint Convolutional Autoencoder Embedding and Relative Entropy Minimization",
            "authors": ["Kamran Ghasedi Dizaji", "Amirhossein Herandi", "Cheng Deng", "Weidong Cai", "Heng Huang"],
            "year": 2017,
            "venue": "ICCV",
            "arxiv": "1704.06327",
        }
    ],
    "components": {
        "encoder": {
            "depict": {"target": ".depict:DEPICTEncoder", "summary": "denoising conv autoencoder + softmax clustering head, head initialised by agglomerative clustering"},
        },
        "loss": {
            "depict_loss": {"target": ".depict:DEPICTLoss", "summary": "cross-entropy to DEPICT's balanced targets (per-epoch, per-sample) + layer-wise reconstruction"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "depict_beats_ae_kmeans",
            "claim": "DEPICT clusters better than k-means on the features of the same (pre-trained) autoencoder",
            "paper": "DEPICT above AE + k-means style baselines on MNIST (ACC about 0.965), USPS, FRGC, YTF, CMU-PIE",
            "where": "Sec. 4, clustering tables",
            "metric": "Hungarian-matched accuracy on sklearn digits (all 1797 images, transductive), mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "depict_balanced_clusters",
            "claim": "the uniform prior on the cluster frequencies keeps the clusters balanced (no degenerate clusters)",
            "paper": "the KL(f || u) term of the target prevents degenerate solutions",
            "where": "Sec. 3 (relative-entropy objective)",
            "metric": "smallest cluster size / largest cluster size of the final assignment",
            "direction": "higher",
        },
    ],
    "verified": [
        "the exact minimiser of KL(Q||P) + KL(f||u) (scipy L-BFGS, softmax parametrisation) is the fixed point q ~ p / f(Q) (1e-6); the paper's sqrt target, its equal-normaliser approximation, is within 1.25e-2 of it (objective gap 2.1e-4); the code's square target is not (gap 0.113)",
        "targets are row-stochastic (1e-12) and more balanced than P when one cluster dominates",
        "Hungarian-matched accuracy via scipy.optimize.linear_sum_assignment",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
