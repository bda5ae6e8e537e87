"""SIE: self-supervised learning of split invariant-equivariant representations."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "split_invariant_equivariant",
    "title": "SIE: split invariant-equivariant self-supervised representations",
    "summary": "Self-supervised learning of a representation split into an invariant part (agreement "
    "between views) and an equivariant part whose transformation between views is predicted by a "
    "linear map produced by a hypernetwork from the transformation parameters; VICReg-style "
    "variance/covariance regularisation. Use it when you know the transformation relating two views "
    "and want to keep that information instead of discarding it.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Self-supervised learning of Split Invariant Equivariant representations",
            "authors": ["Quentin Garrido", "Laurent Najman", "Yann LeCun"],
            "year": 2023,
            "venue": "ICML",
            "arxiv": "2302.10283",
        }
    ],
    "components": {
        "encoder": {
            "sie": {"target": ".model:SIE", "summary": "split invariant/equivariant SSL encoder with hypernetwork predictor (rotated-view pairs)"},
        },
        "dataset": {
            "rotated_digits": {"target": ".images:RotatedDigits", "summary": "scikit-learn digits rotated by random SO(2) angles (single images or view pairs)"},
        },
    },
    "extras": [],
    "verified": [
        "hypernetwork predictor equals vec W(a) = H a (1e-12) and matches the authors' ParametrizedNet (float32 round-off)",
        "VICReg variance/covariance terms against numpy closed forms (1e-10); gradcheck of the deep predictor",
        "reproduction on rotated digits: invariant part better for class (0.698 vs 0.569), equivariant part for rotation (R2 0.940 vs 0.831)",
    ],
    "claims": [
        {
            "id": "inv_part_better_for_class",
            "claim": "A linear probe predicts the class better from the invariant part of the representation than from the equivariant part.",
            "paper": "class accuracy: invariant part > equivariant part",
            "where": "Sec. 5, evaluation of the split representation (3DIEBench)",
            "metric": "linear-probe test accuracy of r_inv vs r_equi",
            "direction": "ordering",
        },
        {
            "id": "equi_part_better_for_rotation",
            "claim": "The relative rotation between two views is predicted better from the equivariant part than from the invariant part.",
            "paper": "rotation-prediction R^2: equivariant part > invariant part",
            "where": "Sec. 5, evaluation of the split representation (3DIEBench)",
            "metric": "R^2 of an MLP probe predicting (cos d, sin d) from both views' representations",
            "direction": "ordering",
        },
        {
            "id": "inv_part_discards_rotation",
            "claim": "Training makes the invariant part invariant: after SIE training it carries less rotation information than the same part of an untrained network.",
            "paper": "the invariant part keeps little information about the transformation (low rotation R^2)",
            "where": "Sec. 5, evaluation of the split representation (3DIEBench)",
            "metric": "rotation R^2 of r_inv, trained vs untrained",
            "direction": "lower",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
