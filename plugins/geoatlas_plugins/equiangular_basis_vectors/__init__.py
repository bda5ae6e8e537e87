"""Plugin: Equiangular Basis Vectors classification head (Shen et al., CVPR 2023). Light module: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "equiangular_basis_vectors",
    "title": "Equiangular Basis Vectors",
    "summary": "A classification head with fixed, pairwise almost-orthogonal unit class vectors "
    "(|cos| <= alpha, generated once by the paper's SGD procedure): the normalised embedding is "
    "scored by its cosine to each class vector (temperature 0.07). The head has no class weights to "
    "learn, so its size does not grow with d x N training parameters; use it when the number of "
    "classes is large or when equal-status, maximally separated class directions are wanted.",
    "api": ">=1,<2",
    "status": "stable",
    "papers": [
        {
            "title": "Equiangular Basis Vectors",
            "authors": ["Yang Shen", "Xuhao Sun", "Xiu-Shen Wei"],
            "year": 2023,
            "venue": "CVPR",
            "arxiv": "2303.11637",
        }
    ],
    "components": {
        "encoder": {
            "ebv_head": {
                "target": ".ebv:EBVHead",
                "summary": "classification head on a fixed equiangular basis (buffer `basis`, unit rows, |cos| <= alpha), cosine logits / tau",
            }
        }
    },
    "extras": [],
    "claims": [
        {
            "id": "ebv_matches_fc",
            "claim": "with the same backbone, the EBV head classifies as well as (or better than) a learnable fully connected head",
            "paper": "ResNet-50 on ImageNet: EBV (d = 1000) 78.73-78.99 % top-1 vs the FC baseline reported in the paper (numbers of the FC row not retrieved)",
            "where": "Table of ImageNet results; reference repository logs",
            "metric": "held-out accuracy on digits, EBV (d = 16) minus FC head, mean of 3 seeds",
            "direction": "match",
        },
        {
            "id": "ebv_dimension",
            "claim": "accuracy grows with the basis dimension d and saturates (paper: 76.83 % at d = 100 to 78.58 % at d = 2000)",
            "paper": "d = 100/200/300/400/500/2000: 76.83 / 77.83 / 78.08 / 78.38 / 78.34 / 78.58 %",
            "where": "dimension ablation (reference repository logs)",
            "metric": "held-out digits accuracy for d in {4, 8, 16, 64} (alpha above the Welch bound when d < 10)",
            "direction": "shape",
        },
        {
            "id": "ebv_generator_alpha",
            "claim": "the generator reaches max |cos| <= alpha + 1e-4 (alpha = 0.002 for N <= d; above the Welch bound otherwise)",
            "paper": "alpha = 0.002 for N = 1000, d = 1000; the authors' shipped N = 1000 bases for d = 100 / 500 reach max |cos| 0.135 / 0.035 (1.42 / 1.107 x the Welch bound)",
            "where": "Sec. 3 (EBV generation); Generate_EBV.py",
            "metric": "achieved max |cos| vs alpha and vs the Welch bound",
            "direction": "lower",
        },
        {
            "id": "ebv_imagenet_coco",
            "claim": "EBV improves over FC on ImageNet-1K classification, COCO detection and ADE20K segmentation",
            "paper": "78.73 % ImageNet top-1 (ResNet-50, 105 epochs)",
            "where": "Tables 1-3",
            "metric": "top-1 / mAP / mIoU",
            "direction": "higher",
            "not_echoed": "ImageNet, COCO and ADE20K need downloads and GPU-weeks",
        },
    ],
    "verified": [
        "generated bases have unit rows (1e-6) and every pair |cos| <= alpha + 1e-4 (alpha = 0.002, N <= d)",
        "Welch bound: for N > d an alpha 10 % below sqrt((N-d)/(d(N-1))) never converges; 20 % above it converges, and the achieved max |cos| is never below the bound",
        "the basis is a non-trainable buffer and the head equals normalize(f(x)) @ basis.T / 0.07 exactly",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
