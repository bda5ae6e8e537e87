"""Plugin: Loki, geometry-aware adaptation of pretrained models (Roberts et al., NeurIPS 2023). Light module: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "loki",
    "title": "Geometry-Aware Adaptation for Pretrained Models (Loki)",
    "summary": "Turns a classifier's probabilities over the classes it was trained on into "
    "predictions over a larger label space with a metric: the Fréchet mean of the observed classes "
    "weighted by the probabilities (a fixed linear map of the probabilities, then an argmax). "
    "Classes never seen in training can be predicted when they lie between observed ones. Use it "
    "when the label space has a known geometry (a hierarchy, a graph, class embeddings) and the "
    "model saw only some of the classes.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Geometry-Aware Adaptation for Pretrained Models",
            "authors": ["Nicholas Roberts", "Xintong Li", "Dyah Adila", "Sonia Cromp", "Tzu-Heng Huang", "Jitian Zhao", "Frederic Sala"],
            "year": 2023,
            "venue": "NeurIPS",
            "arxiv": "2307.12226",
        }
    ],
    "components": {
        "encoder": {
            "loki": {
                "target": ".loki:Loki",
                "summary": "Fréchet-mean predictions over a label space with a metric from probabilities over observed classes (scores -P D^2)",
            }
        }
    },
    "extras": [],
    "claims": [
        {
            "id": "loki_unobserved",
            "claim": "with a label metric, Loki predicts classes never observed in training, where the argmax cannot",
            "paper": "Loki recovers unobserved classes (locus of the Fréchet mean) and improves over the argmax of the pretrained model",
            "where": "Sec. 3-5",
            "metric": "digits accuracy on the classes not observed in training (argmax is 0 by construction), Loki vs argmax",
            "direction": "higher",
        },
        {
            "id": "loki_expected_distance",
            "claim": "Loki lowers the expected squared distance E[d^2(y, y_hat)] to the true label compared with the argmax",
            "paper": "up to 29.7 % relative improvement over SimCLR on ImageNet; 10.5 % for CLIP with self-derived metrics",
            "where": "abstract; Sec. 5 tables",
            "metric": "E[d^2(y, y_hat)] on all test digits, Loki vs argmax (relative change)",
            "direction": "lower",
        },
        {
            "id": "loki_imagenet_clip",
            "claim": "gains on ImageNet with SimCLR and CLIP features and the WordNet metric",
            "paper": "29.7 % (SimCLR), 10.5 % (CLIP)",
            "where": "Sec. 5",
            "metric": "ImageNet accuracy / E[d^2]",
            "direction": "higher",
            "not_echoed": "needs ImageNet, SimCLR/CLIP weights and WordNet, none of which can be downloaded here",
        },
    ],
    "verified": [
        "matrix form argmax(-P D^2) equals brute-force enumeration of the Fréchet-mean objective over the label space (hypothesis: 30 random Euclidean label metrics, |Y| <= 12, K <= 6, 40 samples each)",
        "discrete metric: Loki equals the argmax (200 samples), and never predicts an unobserved label",
        "path 0..9 with observed {0, 9}: P = (1-t, t) gives round(9t) (101 values of t); one-hot P gives its class",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
