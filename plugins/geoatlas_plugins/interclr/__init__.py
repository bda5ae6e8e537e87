"""Plugin: InterCLR, inter-image invariance for contrastive learning (Xie et al., IJCV 2022). Light: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "interclr",
    "title": "InterCLR: delving into inter-image invariance for unsupervised visual representations",
    "summary": "MoCo v2 (query head, momentum key encoder = EMA copy of the whole encoder via Loss.bind, momentum key head, queue; InfoNCE) plus InterCLR's inter-image branch: a "
    "memory bank of key features with online cluster labels (k-means initialisation, per-step relabelling, "
    "small clusters dissolved and refilled), a positive from the query's cluster, semi-hard negatives drawn "
    "uniformly from the most similar bank entries of other clusters, and MarginNCE (cosine margin -0.5); "
    "weights 0.75 / 0.25. A self-supervised loss that owns its training machinery (in buffers).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Delving into Inter-Image Invariance for Unsupervised Visual Representations",
            "authors": ["Jiahao Xie", "Xiaohang Zhan", "Ziwei Liu", "Yew Soon Ong", "Chen Change Loy"],
            "year": 2022,
            "venue": "IJCV",
            "arxiv": "2008.11702",
        }
    ],
    "components": {
        "loss": {
            "interclr": {"target": ".interclr:InterCLR", "summary": "MoCo v2 intra branch + inter-image branch (memory bank, online labels, semi-hard negatives, MarginNCE m=-0.5), weights 0.75/0.25"},
        },
    },
    "extras": [],
    "verified": [
        "margin 0 and weights (1, 0) equal MoCo's InfoNCE (query vs key and queue) written out in float64 loops, to 1e-12",
        "MarginNCE with margin 0 equals InfoNCE over [positive, negatives] (loops, 1e-12); the inter branch with hard sampling and singleton clusters equals a loop transcription (1e-10)",
        "bind: the key encoder is an EMA copy of the whole encoder (closed-form EMA after a step, 1e-12; keys = head_m(f_m(view 2)), 1e-12; not optimised; checkpointed through a pipeline)",
        "sampler properties: no negative from the query's cluster, semi-hard negatives inside the top-P pool, positives from the query's cluster; memory invariants (unit rows, no empty cluster after small-cluster handling)",
    ],
    "claims": [
        {
            "id": "interclr_beats_moco",
            "claim": "adding the inter-image branch (InterCLR) improves MoCo v2 representations",
            "paper": "InterCLR above MoCo v2 in ImageNet linear evaluation (68.0 % for 200 epochs, ResNet-50; the MoCo v2 baseline ~67 %)",
            "where": "Tables of ImageNet linear classification; mmselfsup model zoo",
            "metric": "held-out linear-probe accuracy on digits (MLP and CNN-pipeline settings; kNN reported beside it), InterCLR vs the same loss with weights (1, 0) (= MoCo v2), equal budget, mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "online_labels_stabilise",
            "claim": "online pseudo-labels stabilise during training (the label change ratio decreases)",
            "paper": "online labels are updated every step and converge (qualitative)",
            "where": "Sec. 3 (online labels)",
            "metric": "fraction of changed labels per step, first vs last epoch of the inter branch (mean of 3 seeds)",
            "direction": "lower",
        },
        {
            "id": "imagenet_linear",
            "claim": "ImageNet linear probe 68.0 % (200 epochs), VOC07 SVM 85.2",
            "paper": "68.04 / 85.24",
            "where": "mmselfsup model zoo / paper tables",
            "metric": "top-1 accuracy",
            "direction": "higher",
            "not_echoed": "needs ImageNet and GPU-scale training",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
