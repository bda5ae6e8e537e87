"""Plugin: SimLAP, contrastive learning from arbitrary class pairs (Wu et al., arXiv 2410.18200). Light: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "simlap",
    "title": "SimLAP: rethinking positive pairs in contrastive learning",
    "summary": "A supervised contrastive loss whose positives are arbitrary pairs of classes: for an anchor of "
    "class c1 paired with a class c2, the samples of c2 (other view) are positives in the subspace chosen "
    "by a learned class-pair gate g(c1, c2) in (0, 1)^D, and the samples of neither class are negatives "
    "(multi-positive InfoNCE, learnable temperature). With identical pairs and an all-ones gate it is a "
    "supervised multi-positive InfoNCE."
    "Use it in the representation task with pretrain.labels: true.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Rethinking Positive Pairs in Contrastive Learning",
            "authors": ["Jiantao Wu", "Sara Atito", "Zhenhua Feng", "Shentong Mo", "Josef Kittler", "Muhammad Awais"],
            "year": 2024,
            "venue": "arXiv",
            "arxiv": "2410.18200",
        }
    ],
    "components": {
        "loss": {
            "simlap": {"target": ".simlap:SimLAP", "summary": "SimLAP: arbitrary class pairs, learned class-pair gate, multi-positive InfoNCE (supervised)"},
        },
    },
    "extras": [],
    "verified": [
        "identical pairs + all-ones gate = a multi-positive InfoNCE written out in float64 loops (1e-12)",
        "with one positive per anchor it equals pytorch-metric-learning SupConLoss(temperature=0.1) with ref_emb = the other view (1e-6); with several positives it differs (SupCon's denominator holds the other positives), tested",
        "mask algebra (P subset of E), gate in (0, 1), row-centring invariance, gradcheck (float64)",
    ],
    "claims": [
        {
            "id": "arbitrary_pairs_competitive",
            "claim": "learning from arbitrary (mostly distinct) class pairs gives representations competitive with (or better than) identical-class pairs",
            "paper": "SimLAP with arbitrary pairs achieves superior performance on IN1K (1K classes, 500,500 pairs)",
            "where": "Abstract; Sec. 4 (IN1K experiments)",
            "metric": "held-out linear-probe accuracy of the encoder, arbitrary vs identical pairs (mean of 3 seeds); holds if arbitrary is within 2 points of identical or above",
            "direction": "ordering",
        },
        {
            "id": "gate_learns_subspaces",
            "claim": "the gates select class-pair subspaces (dimensions activated or deactivated)",
            "paper": "gate vectors selectively activate or deactivate dimensions (qualitative)",
            "where": "Abstract; Sec. 3 (feature filter)",
            "metric": "mean Bernoulli entropy of the learned gates (log 2 = 0.693 for gates at 0.5; lower = more binary) at the end vs the start of training (mean of 3 seeds)",
            "direction": "lower",
        },
        {
            "id": "in1k_linear",
            "claim": "ImageNet-1K linear probing and transfer to six tasks",
            "paper": "SimLAP above SimCLR / supervised baselines on IN1K and transfer (numbers not retrieved)",
            "where": "Sec. 4",
            "metric": "top-1 accuracy",
            "direction": "higher",
            "not_echoed": "needs ImageNet and GPU-scale training",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
