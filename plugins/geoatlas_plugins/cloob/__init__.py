"""Plugin: CLOOB, modern Hopfield networks with InfoLOOB (Fürst et al., NeurIPS 2022). Light: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "cloob",
    "title": "CLOOB: modern Hopfield networks with InfoLOOB outperform CLIP",
    "summary": "The CLOOB contrastive objective for paired data (two modalities, or two views): each embedding "
    "is replaced by its retrieval from a modern Hopfield network that stores the batch's embeddings of "
    "either modality, and the retrieved pairs are contrasted by InfoLOOB, the leave-one-out bound "
    "(InfoNCE without the positive in the denominator), with fixed inverse temperatures. CLIP's "
    "symmetric InfoNCE is registered as its baseline.",
    "api": ">=1,<2",
    "status": "stable",
    "papers": [
        {
            "title": "CLOOB: Modern Hopfield Networks with InfoLOOB Outperform CLIP",
            "authors": ["Andreas Fürst", "Elisabeth Rumetshofer", "Johannes Lehner", "Viet Tran", "Fei Tang",
                        "Hubert Ramsauer", "David Kreil", "Michael Kopp", "Günter Klambauer",
                        "Angela Bitto-Nemling", "Sepp Hochreiter"],
            "year": 2022,
            "venue": "NeurIPS",
            "arxiv": "2110.11316",
        }
    ],
    "components": {
        "loss": {
            "cloob": {"target": ".cloob:CLOOB", "summary": "InfoLOOB on Hopfield-retrieved embeddings of both modalities (fixed 1/tau = 30, beta = 8: the authors' CC run)"},
            "clip": {"target": ".cloob:CLIP", "summary": "CLIP's symmetric cross-modal InfoNCE (baseline of cloob)"},
        },
    },
    "extras": [],
    "verified": [
        "InfoLOOB = InfoNCE with the positive removed from the denominator: equals InfoNCE (torch cross-entropy) + mean log(1 - p_ii) and a float64 loop, to 1e-10",
        "Hopfield retrieval = F.scaled_dot_product_attention(state, stored, stored, scale=beta), row-normalised: 1e-6 (float32), 1e-12 (float64)",
        "the cloob loss equals an independent float64 transcription of the paper's objective (1e-10); beta -> inf limit; gradcheck",
    ],
    "claims": [
        {
            "id": "cloob_beats_clip_zero_shot",
            "claim": "CLOOB outperforms CLIP at zero-shot transfer",
            "paper": "CLOOB > CLIP on zero-shot classification across all architectures and datasets (CC and YFCC pre-training)",
            "where": "Abstract; Sec. 4 (zero-shot tables)",
            "metric": "zero-shot accuracy on paired digit halves: left-half embeddings classified by the nearest class prototype of right-half embeddings (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "cloob_beats_clip_linear_probe",
            "claim": "CLOOB's representations are richer than CLIP's (linear probing)",
            "paper": "CLOOB above CLIP in linear probing on most datasets",
            "where": "Sec. 4 (linear probing)",
            "metric": "held-out linear-probe accuracy of the left-half tower (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "cloob_more_uniform",
            "claim": "CLOOB increases the uniformity of the embeddings (Hopfield retrieval + InfoLOOB) compared with CLIP",
            "paper": "higher uniformity at similar alignment (analysis of uniformity / alignment)",
            "where": "Sec. 3-4 (uniformity and alignment)",
            "metric": "Wang-Isola uniformity log E exp(-2 |u - v|^2) of held-out embeddings, lower = more uniform (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "imagenet_zero_shot",
            "claim": "zero-shot ImageNet and other benchmarks after Conceptual Captions / YFCC pre-training",
            "paper": "CLOOB above CLIP on the zero-shot benchmarks (ResNet-50 ...)",
            "where": "Sec. 4, zero-shot tables",
            "metric": "zero-shot top-1 accuracy",
            "direction": "ordering",
            "not_echoed": "needs CC/YFCC pre-training and ImageNet (downloads, GPUs)",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
