"""Plugin: Poincaré ResNet (van Spengler, Berkhout & Mettes, ICCV 2023) and its Poincaré layers."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "poincare_resnet",
    "title": "Poincaré ResNet",
    "summary": "A residual network whose every hidden representation lives on the Poincaré ball: "
    "Poincaré (HNN++) fully-connected and convolution layers with the paper's identity "
    "initialisation, Poincaré midpoint batch normalisation, Möbius residual additions and a "
    "hyperbolic MLR head; plus the Euclidean ResNet of the same layout for comparison. Use it to "
    "learn hyperbolic image representations from the pixels up.",
    "status": "experimental",
    "api": ">=1,<2",
    "papers": [
        {
            "title": "Poincaré ResNet",
            "authors": ["Max van Spengler", "Erwin Berkhout", "Pascal Mettes"],
            "year": 2023,
            "venue": "ICCV",
            "arxiv": "2303.14027",
        },
        {
            "title": "Hyperbolic Neural Networks++",
            "authors": ["Ryohei Shimizu", "Yusuke Mukuta", "Tatsuya Harada"],
            "year": 2021,
            "venue": "ICLR",
            "arxiv": "2006.08210",
        },
    ],
    "components": {
        "encoder": {
            "poincare_resnet": {
                "target": ".resnet:PoincareResNet",
                "summary": "Poincaré ResNet for images: logits from a Poincaré MLR head, embed() gives ball points",
            },
            "euclidean_resnet": {
                "target": ".resnet:EuclideanResNet",
                "summary": "Euclidean ResNet with the same layout and widths (baseline of the paper)",
            },
            "poincare_linear": {
                "target": ".layers:PoincareLinear",
                "summary": "Poincaré fully-connected layer (HNN++), identity initialisation",
            },
            "poincare_conv2d": {
                "target": ".layers:PoincareConv2d",
                "summary": "Poincaré 2D convolution (beta-concatenation + Poincaré FC), identity initialisation",
            },
            "poincare_batchnorm2d": {
                "target": ".layers:PoincareBatchNorm2d",
                "summary": "Poincaré midpoint batch normalisation (gyromidpoint mean, learned ball mean and variance)",
            },
            "poincare_mlr": {
                "target": ".layers:PoincareMLR",
                "summary": "Poincaré multinomial logistic regression (HNN++): signed hyperplane-distance logits",
            },
        }
    },
    "extras": [],
    "verified": [
        "same weights as HypLL 0.1.1 (authors' library, test extra) with its curvature in float64: HLinear 6e-16, HConvolution2d 3e-15, HBatchNorm2d(use_midpoint) 8e-13; as shipped (float32 curvature) within 16 float32 eps",
        "FC hyperplane logits equal 2|z_k| * geoopt dist2plane (float64, c in {0.1, 1, 2}, see README)",
        "identity initialisation maps x to x (closed form), conv with 1x1 identity kernel is the identity",
        "midpoint equals the Einstein midpoint (Klein model); batch-norm output has dispersion gamma*s2/(s2+eps) about the learned mean",
        "torch.autograd.gradcheck (float64) for every layer and a residual block",
    ],
    "claims": [
        {
            "id": "identity_init_preserves_norm",
            "claim": "With the identity initialisation a stack of 30 Poincaré FC layers keeps the norm of its input, "
            "while the HNN++ initialisation collapses it towards the origin",
            "paper": "identity initialisation preserves norms through depth; the HNN++ initialisation shrinks "
            "representations towards the origin (qualitative)",
            "where": "Poincaré ResNet (ICCV 2023), Sec. 3 (roadblock i: initialisation)",
            "metric": "mean |x| after / before 30 layers",
            "direction": "match",
        },
        {
            "id": "midpoint_bn_faster",
            "claim": "Poincaré midpoint batch statistics are cheaper than Fréchet-mean statistics and give nearly the "
            "same mean",
            "paper": "midpoint batch normalisation is faster than and equally effective as Fréchet-mean batch "
            "normalisation (qualitative; timing tables not confirmed)",
            "where": "Poincaré ResNet (ICCV 2023), Sec. 3 (roadblock ii: batch normalisation)",
            "metric": "time of the batch statistics; distance between the two means",
            "direction": "lower",
        },
        {
            "id": "accuracy_close_to_euclidean",
            "claim": "The Poincaré ResNet classifies images about as accurately as the Euclidean ResNet of the same widths "
            "(within 2 points)",
            "paper": "Poincaré ResNets reach accuracy in the range of their Euclidean counterparts on CIFAR-10/100 "
            "(numbers not confirmed)",
            "where": "Poincaré ResNet (ICCV 2023), classification table (CIFAR-10/100)",
            "metric": "test accuracy gap, Euclidean minus Poincaré",
            "direction": "match",
        },
        {
            "id": "fgsm_robustness",
            "claim": "The Poincaré ResNet keeps a higher accuracy than the Euclidean ResNet under FGSM attacks",
            "paper": "hyperbolic ResNets are more robust to adversarial (FGSM) attacks (numbers not confirmed)",
            "where": "Poincaré ResNet (ICCV 2023), adversarial-robustness table (CIFAR-10, ResNet-32)",
            "metric": "test accuracy under FGSM, mean over eps",
            "direction": "higher",
        },
        {
            "id": "ood_detection",
            "claim": "The energy score of the Poincaré ResNet separates out-of-distribution inputs better than that of the "
            "Euclidean ResNet",
            "paper": "Poincaré ResNets detect out-of-distribution samples better (AUROC / FPR95 on Places365, SVHN, "
            "Textures; numbers not confirmed)",
            "where": "Poincaré ResNet (ICCV 2023), OOD-detection table",
            "metric": "AUROC of the energy score, mean over 3 OOD sets",
            "direction": "higher",
        },
        {
            "id": "hnnpp_mlr_hyperplane_distance",
            "claim": "The Poincaré MLR logit of class k is 2 |z_k| times the signed distance of x to a Poincaré hyperplane",
            "paper": "v_k(x) = 2 |z_k| d_signed(x, H_k): the unidirectional MLR is a hyperplane-distance classifier",
            "where": "HNN++ (ICLR 2021), Sec. 3.1 (Poincaré MLR)",
            "metric": "max relative error against geoopt dist2plane",
            "direction": "match",
        },
        {
            "id": "hnnpp_mlr_parameters",
            "claim": "The Poincaré MLR needs n + 1 parameters per class",
            "paper": "(n + 1) K parameters instead of the 2 n K of HNN's MLR (unidirectional reparametrisation)",
            "where": "HNN++ (ICLR 2021), Sec. 3.1",
            "metric": "parameter count for n = 16, K = 10",
            "direction": "match",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
