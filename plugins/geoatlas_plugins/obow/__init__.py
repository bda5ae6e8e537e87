"""Plugin: OBoW, online bag-of-visual-words generation for self-supervised learning (Gidaris et al., CVPR 2021)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "obow",
    "title": "OBoW: online bag-of-visual-words generation for self-supervised learning",
    "summary": "Teacher-student self-supervised pre-training: an EMA teacher turns its feature maps into "
    "bags of visual words over an online, queue-based vocabulary (soft assignment, max-pooling, L1), and "
    "the student predicts them from a perturbed view through a dynamic BoW-prediction head generated "
    "from the vocabulary. Loss `obow` (targets, vocabulary, prediction head; with Loss.bind it also keeps "
    "the EMA teacher of any registered convnet, e.g. `cnn`) and the student/teacher convnet `obow_cnn` "
    "(EMA with the paper's cosine momentum schedule).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "OBoW: Online Bag-of-Visual-Words Generation for Self-Supervised Learning",
            "authors": ["Spyros Gidaris", "Andrei Bursuc", "Gilles Puy", "Nikos Komodakis", "Matthieu Cord", "Patrick Pérez"],
            "year": 2021,
            "venue": "CVPR",
            "arxiv": "2012.11552",
        }
    ],
    "components": {
        "loss": {
            "obow": {"target": ".obow:OBoWLoss", "summary": "OBoW: BoW targets of the teacher over an online vocabulary, predicted by the student through a generated head; bound to any convnet encoder it keeps the EMA teacher itself"},
        },
        "encoder": {
            "obow_cnn": {"target": ".obow:OBoWEncoder", "summary": "student convnet with an EMA teacher (cosine momentum schedule) for the obow loss"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "obow_beats_random_init",
            "claim": "OBoW pre-training without labels gives features that a linear probe classifies better than the same network at random initialisation",
            "paper": "ResNet-50, 200 epochs on ImageNet: 73.8 % linear-probe top-1 (authors' README)",
            "where": "Table (ImageNet linear classification); github.com/valeoai/obow README",
            "metric": "linear-probe test accuracy on frozen student features, mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "obow_beats_contrastive",
            "claim": "the BoW-reconstruction objective surpasses contrastive instance discrimination (here SimCLR's NT-Xent, the registered info_nce) at equal budget",
            "paper": "abstract: surpasses previous state-of-the-art methods, including contrastive-based ones",
            "where": "abstract; Sec. 4 comparison tables",
            "metric": "linear-probe and 20-NN test accuracy, same backbone, views and epochs, mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "obow_no_collapse",
            "claim": "the online vocabulary and soft BoW targets do not collapse: the batch perplexity of the targets stays far above 1 through training",
            "paper": "the authors monitor the per-batch and per-image BoW perplexity during training (builder_obow.compute_bow_perplexity)",
            "where": "authors' code (training logs); Sec. 3",
            "metric": "batch perplexity of the BoW targets in the last epoch (1 = collapse, K = uniform)",
            "direction": "higher",
        },
    ],
    "verified": [
        "hard-assignment limit: soft codes with inv_delta = 1e6 equal the one-hot argmin codes (inv_delta=None) to 1e-6",
        "EMA schedule equals the closed form 1 - (1 - a0)(cos(pi i/T) + 1)/2 (1e-12), reaches 1 at step T; with a fixed student the teacher equals s + prod(a_i)(t0 - s) (1e-6)",
        "perplexity equals exp of scipy.stats.entropy (1e-9); uniform codes give K, one-hot codes 1",
        "distances equal torch.cdist squared (1e-4); loss equals cross-entropy minus target entropy (1e-6); queue wraps modulo K",
        "bound to the registered cnn (Loss.bind): the teacher is a frozen copy, equals a*t0 + (1-a)*s after a step at the cosine schedule's a (1e-7), and the loss equals the BoW targets of the teacher's last 4-d map recomputed by hand (1e-5); two levels by module name; binding obow_cnn keeps its own teacher",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
