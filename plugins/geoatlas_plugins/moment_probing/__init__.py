"""Plugin: Moment Probing (MP) head on frozen token features (Gao et al., ICCV 2023)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "moment_probing",
    "title": "Tuning pre-trained models via Moment Probing",
    "summary": "A probing head that classifies the distribution of frozen token features through its "
    "first moment (mean or class token) and second moments computed by multi-head convolutional "
    "cross-covariance (MHC^3), instead of the mean token alone (linear probing). Use it on frozen "
    "features of any backbone that produces token sequences (N, T, D).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Tuning Pre-trained Model via Moment Probing",
            "authors": ["Mingze Gao", "Qilong Wang", "Zhenyi Lin", "Pengfei Zhu", "Qinghua Hu", "Jingbo Zhou"],
            "year": 2023,
            "venue": "ICCV",
            "arxiv": "2307.11342",
        }
    ],
    "components": {
        "encoder": {
            "moment_probing_head": {
                "target": ".mp:MomentProbingHead",
                "summary": "MP head: linear classifier on first moment + MHC^3 second moments of tokens",
            }
        },
        "dataset": {
            "digit_patch_tokens": {
                "target": ".mp:DigitPatchTokens",
                "summary": "digits as tokens of a frozen random patch embedding (N, T, D)",
            }
        },
    },
    "extras": [],
    "verified": [
        "second_order=False is exactly linear probing on the mean token",
        "per-head cross-covariances equal torch.cov blocks (channel centring) and the reference's global-centring formula",
        "invariance to token permutations (check_equivariance, permutations group)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
