"""Plugin: Moment Probing (MP) head on frozen token features (Gao et al., ICCV 2023)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "moment_probing",
    "title": "Tuning pre-trained models via Moment Probing",
    "summary": "A probing head that classifies the distribution of frozen token features through its "
    "first moment (the class token, as in the paper's ViT protocol, or the mean token) and second "
    "moments computed by multi-head convolutional "
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
    "claims": [
        {
            "id": "mp_beats_linear_probing",
            "claim": "on the same frozen token features, the moment-probing head (first + MHC^3 second moments) beats linear probing of the mean token",
            "paper": "ViT-B/16 (IN-21K) on ImageNet-1K: LP 82.04 %, MP 83.15 %",
            "where": "Table (ImageNet-1K probing results); reference repository README",
            "metric": "held-out accuracy, MP head vs converged logistic-regression LP (mean of 3 frozen embeddings)",
            "direction": "ordering",
        },
        {
            "id": "mp_beats_lp_few_shot",
            "claim": "with few labelled images per class, MP still beats LP",
            "paper": "MP above LP in the few-shot study (the paper's few-shot numbers are not in our notes)",
            "where": "few-shot experiments",
            "metric": "held-out accuracy with 10 training images per class, MP vs converged LP (mean of 3)",
            "direction": "ordering",
        },
        {
            "id": "second_moments_see_correlations",
            "claim": "when classes differ only in the correlation between feature channels (equal means), MP separates them and LP on the mean token cannot",
            "paper": "probing the feature distribution through first and second moments captures more than the mean token alone (qualitative motivation)",
            "where": "Sec. 1 and 3 (moment probing)",
            "metric": "held-out accuracy on equal-mean, different-correlation token sets, MP vs LP",
            "direction": "ordering",
        },
        {
            "id": "mp_plus_imagenet",
            "claim": "MP+ (partially shared recalibration parameters in the backbone) improves further over MP",
            "paper": "MP+ 83.62 % vs MP 83.15 % (ViT-B/16, ImageNet-1K)",
            "where": "Table (ImageNet-1K); reference repository README",
            "metric": "ImageNet-1K top-1 accuracy",
            "direction": "ordering",
            "not_echoed": "MP+ is not implemented, and it needs a pre-trained ViT and ImageNet, which cannot be downloaded here",
        },
    ],
    "verified": [
        "the default head (first_order=cls) equals an independent transcription of the reference ViT head to 1e-12",
        "second_order=False is exactly linear probing on the class token (or on the mean token with first_order=mean)",
        "per-head cross-covariances equal torch.cov blocks (channel centring) and the reference's global-centring formula",
        "with first_order=mean, invariance to token permutations (check_equivariance, permutations group)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
