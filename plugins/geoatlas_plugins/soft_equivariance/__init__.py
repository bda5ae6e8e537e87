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
    "subgroups of O(3), plus the modified-inertia task of the paper.",
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
            "modified_inertia": {"target": ".data:ModifiedInertia", "summary": "masses + positions -> inertia tensor with O(3) broken to O(2) (seeded)"},
        },
    },
    "verified": [
        "projectors are symmetric idempotent; projected networks pass check_equivariance (< 1e-10) with random elements of each candidate group",
        "modified inertia (2 seeds): PER test MSE 0.855 vs hard O(2) 0.905, hard O(3) 1.245, MLP 3.106; smallest regulariser and error for O(2)_xy",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
