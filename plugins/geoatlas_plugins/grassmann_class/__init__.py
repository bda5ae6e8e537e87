"""Plugin: Grassmann class representation (Wang et al., ICCV 2023). Light module: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "grassmann_class",
    "title": "Grassmann Class Representation",
    "summary": "A classification head in which every class is a k-dimensional linear subspace of "
    "the feature space (a point of the Grassmann manifold): the logit is the scaled norm of the "
    "normalised feature's projection onto the subspace. The subspaces are trained by Riemannian SGD "
    "(geoopt Stiefel representatives with the exact Grassmann geodesic, or the paper's own update "
    "rule). Use it in place of a softmax linear head when features should stay spread within a "
    "class (better transfer) at no cost in accuracy.",
    "api": ">=1,<2",
    "status": "stable",
    "papers": [
        {
            "title": "Get the Best of Both Worlds: Improving Accuracy and Transferability by Grassmann Class Representation",
            "authors": ["Haoqi Wang", "Zhizhong Li", "Wayne Zhang"],
            "year": 2023,
            "venue": "ICCV",
            "arxiv": "2308.01547",
        }
    ],
    "components": {
        "encoder": {
            "gcr_head": {
                "target": ".gcr:GCRHead",
                "summary": "class subspaces S_c in St(D, k) (geoopt ManifoldParameter, exact Grassmann geodesic), logits gamma ||S_c^T x/|x| ||",
            }
        }
    },
    "extras": [],
    "claims": [
        {
            "id": "gcr_accuracy",
            "claim": "GCR (k = 8) is at least as accurate as the softmax linear head",
            "paper": "ResNet50-D ImageNet top-1: softmax 78.05, GCR k = 1/4/8/16/32: 78.42/78.68/79.26/79.21/78.63",
            "where": "Table 2 (ImageNet); reference README",
            "metric": "digits test accuracy, GCR k in {1, 4, 8} vs softmax linear head, same MLP backbone (mean of 3 seeds)",
            "direction": "match",
        },
        {
            "id": "gcr_transfer",
            "claim": "features learned with GCR transfer better to new classes than softmax features (linear probe)",
            "paper": "ResNet50-D: average linear transfer accuracy over 6 datasets 77.98 % (softmax) -> 79.70 % (GCR); Swin-T 81.5 -> 83.4 %; DeiT3 73.8 -> 81.4 %",
            "where": "Sec. 5 (transferability), linear-probe table",
            "metric": "linear-probe accuracy on held-out digits 5-9 of features trained on digits 0-4, GCR k = 4 vs softmax (mean of 3 seeds)",
            "direction": "higher",
        },
        {
            "id": "gcr_spread",
            "claim": "GCR features are less collapsed within a class than softmax features",
            "paper": "the intra-class feature variability grows with the subspace dimension k (the paper's explanation of the transfer gain)",
            "where": "Sec. 5 (feature analysis)",
            "metric": "mean within-class / total variance ratio of normalised training features, GCR k = 4 vs softmax",
            "direction": "higher",
        },
        {
            "id": "gcr_imagenet",
            "claim": "gains carry to Swin-T (81.06 -> 81.63) and DeiT3-S (81.53 -> 82.18) on ImageNet",
            "paper": "Swin-T 81.63, DeiT3-S 82.18",
            "where": "Table 3",
            "metric": "ImageNet top-1",
            "direction": "higher",
            "not_echoed": "needs ImageNet and transformer training at scale",
        },
    ],
    "verified": [
        "geoopt EuclideanStiefel and CanonicalStiefel egrad2rgrad equal the Grassmann horizontal gradient G - S S^T G for this loss (S^T G symmetric), to 1e-12 in float64",
        "the exact geodesic moves S by principal angles equal to the singular values of the step, checked against scipy.linalg.subspace_angles to 1e-10; first-order agreement with S + tH (error < 5t^2)",
        "logits invariant under S_c -> S_c Q, Q in O(k) (1e-12); k = 1 equals 25 |cos(x, s_c)| (1e-12)",
        "geoopt RiemannianSGD and the paper's GrassmannSGD keep S^T S = I to 1e-10 and decrease the loss",
        "GrassmannSGD equals the paper's RSGD written per class in block form ([S V, U][cos; sin] V^T, momentum on the raw gradient, no weight decay on S) over 3 momentum steps to 1e-12",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
