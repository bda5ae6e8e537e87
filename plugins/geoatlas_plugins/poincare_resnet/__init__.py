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
        "same weights as HypLL (authors' library): HLinear 1e-15, HConvolution2d 2e-15, HBatchNorm2d(use_midpoint) 2e-13 (float64)",
        "FC hyperplane logits equal 2|z_k| * geoopt dist2plane (float64, c in {0.1, 1, 2}, see README)",
        "identity initialisation maps x to x (closed form), conv with 1x1 identity kernel is the identity",
        "midpoint equals the Einstein midpoint (Klein model); batch-norm output has dispersion gamma*s2/(s2+eps) about the learned mean",
        "torch.autograd.gradcheck (float64) for every layer and a residual block",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
