"""Soft equivariance under mixed symmetries (Kim et al., ICML 2023): projection-based regulariser."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "soft_equivariance",
    "title": "Regularizing Towards Soft Equivariance Under Mixed Symmetries",
    "summary": "The projection-based equivariance regulariser (PER): for each candidate symmetry "
    "group, the squared distance of every layer to its projection onto the group-equivariant "
    "maps, weighted by strengths that are tuned automatically during training. The tuned "
    "strengths and the measured equivariance errors reveal which (approximate) symmetries the "
    "data have. Implemented on an MLP over scalar/vector/matrix features of R^3 with candidate "
    "subgroups of O(3), plus the modified-inertia task of the paper (its target I + 0.3 (I e_z) e_z^T "
    "and softplus masses, from the authors' code).",
    "status": "experimental",
    "api": ">=1,<2",
    "papers": [
        {
            "title": "Regularizing Towards Soft Equivariance Under Mixed Symmetries",
            "authors": ["Hyunsu Kim", "Hyungi Lee", "Hongseok Yang", "Juho Lee"],
            "year": 2023,
            "venue": "ICML",
            "arxiv": "2306.00356",
        }
    ],
    "components": {
        "encoder": {
            "soft_equivariant_mlp": {"target": ".model:SoftEquivariantMLP", "summary": "typed MLP trained with PER over candidate subgroups of O(3), automatic strengths"},
        },
        "dataset": {
            "modified_inertia": {"target": ".data:ModifiedInertia", "summary": "the paper's modified inertia: softplus masses + positions -> I + 0.3 (I e_z) e_z^T, O(3) broken to O(2) about z (seeded)"},
        },
    },
    "verified": [
        "projectors are symmetric idempotent; projected networks pass check_equivariance (< 1e-10) with random elements of each candidate group",
        "modified inertia target and masses equal an independent recomputation of the authors' definition; exactly O(2)_xy-equivariant, O(3) broken",
        "modified inertia (2 seeds): PER test MSE 2.213 vs hard O(2)_xy 2.102, hard O(3) 3.255, MLP 7.037; smallest regulariser and error for O(2)_xy",
    ],
    "claims": [
        {
            "id": "per_beats_mlp",
            "claim": "On modified inertia (O(3) broken to O(2) about z), PER reaches a lower test MSE than the same network trained without any equivariance regulariser.",
            "paper": "PER < MLP in test MSE",
            "where": "Sec. 6.1, Table 1 (modified inertia)",
            "metric": "test MSE (seed mean)",
            "direction": "ordering",
        },
        {
            "id": "per_beats_hard_o3",
            "claim": "PER reaches a lower test MSE than a hard O(3)-equivariant model, whose symmetry is misspecified for this data.",
            "paper": "PER < EMLP O(3) in test MSE",
            "where": "Sec. 6.1, Table 1 (modified inertia)",
            "metric": "test MSE (seed mean)",
            "direction": "ordering",
        },
        {
            "id": "smallest_regulariser_true_group",
            "claim": "After training, the equivariance regulariser of the true symmetry O(2)_xy is the smallest of the four candidates (O(3), O(2)_xy, O(2)_yz, O(2)_xz), in every seed.",
            "paper": "the learned regularisers/strengths single out the correct O(2) subgroup",
            "where": "Sec. 6.1 (symmetry discovery on modified inertia)",
            "metric": "argmin over candidates of the final R_j",
            "direction": "shape",
        },
        {
            "id": "largest_strength_true_group",
            "claim": "The automatically tuned strength lambda_j is largest for the true symmetry O(2)_xy, in every seed.",
            "paper": "the tuned strengths single out the correct O(2) subgroup",
            "where": "Sec. 6.1 (symmetry discovery on modified inertia)",
            "metric": "argmax over candidates of the tuned lambda_j",
            "direction": "shape",
        },
        {
            "id": "projected_exactly_equivariant",
            "claim": "A network whose layers equal their projection (W = P_G W) is exactly G-equivariant: the hard O(3) model's measured equivariance error vanishes for every candidate subgroup.",
            "paper": "W = P_G W gives an exactly G-equivariant network",
            "where": "Sec. 4 (projection-based regulariser)",
            "metric": "max relative equivariance error over candidates and seeds",
            "direction": "lower",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
