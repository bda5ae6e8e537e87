"""Frame averaging (Puny et al., ICLR 2022): PCA frames that make any backbone invariant/equivariant."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "frame_averaging",
    "title": "Frame Averaging for Invariant and Equivariant Network Design",
    "summary": "Wraps any encoder (a registered name or an nn.Module) so that it becomes exactly "
    "invariant or equivariant to O(n), SO(n), E(n) or SE(n), by averaging it over the PCA frame "
    "of the input point cloud (2^n or 2^(n-1) group elements) instead of the whole group. "
    "Degenerate frames (repeated covariance eigenvalues) are detected.",
    "status": "experimental",
    "api": ">=1,<2",
    "papers": [
        {
            "title": "Frame Averaging for Invariant and Equivariant Network Design",
            "authors": ["Omri Puny", "Matan Atzmon", "Heli Ben-Hamu", "Ishan Misra", "Aditya Grover", "Edward J. Smith", "Yaron Lipman"],
            "year": 2022,
            "venue": "ICLR",
            "arxiv": "2110.03336",
        }
    ],
    "components": {
        "encoder": {
            "frame_averaging": {"target": ".model:FrameAveraging", "summary": "PCA-frame averaging wrapper: any backbone -> O(n)/SO(n)/E(n)/SE(n) invariant or equivariant"},
            "point_mlp": {"target": ".model:PointMLP", "summary": "PointNet-style backbone (per-point MLP + max pool), permutation invariant only"},
        },
        "group": {
            "e_n": {"target": ".model:EuclideanGroup", "summary": "E(n) isometries with reflections, (n+1)x(n+1) homogeneous matrices"},
        },
    },
    "verified": [
        "check_equivariance with 8 random elements of the core o_n, so3, son, se3 groups and e_n, invariant and equivariant outputs: max error <= 1e-15 (float64)",
        "an invariant backbone is left unchanged by frame averaging (< 1e-12)",
        "degenerate frames (repeated eigenvalues) raise DegenerateFrameError; rotated shapes_3d: fa(point_mlp) 1.00 vs point_mlp 0.43",
    ],
    "claims": [
        {
            "id": "exact_invariance",
            "claim": "Averaging a non-invariant backbone over the PCA frame makes it exactly E(3)-invariant (for clouds with a simple covariance spectrum).",
            "paper": "frame averaging gives exactly invariant functions (error 0 up to round-off)",
            "where": "Sec. 2 (frame averaging theorem) and Sec. 3.3 (PCA frames)",
            "metric": "max error of check_equivariance, 8 random E(3) elements, float64",
            "direction": "lower",
        },
        {
            "id": "exact_equivariance",
            "claim": "A frame-averaged backbone with point-cloud output is exactly E(3)-equivariant.",
            "paper": "frame averaging gives exactly equivariant functions (error 0 up to round-off)",
            "where": "Sec. 2 (frame averaging theorem) and Sec. 3.3 (PCA frames)",
            "metric": "max error of check_equivariance, 8 random E(3) elements, float64",
            "direction": "lower",
        },
        {
            "id": "rotation_robust_accuracy",
            "claim": "Trained on upright clouds and tested on rotated and translated ones, FA(point backbone) keeps its upright accuracy while the backbone alone loses accuracy.",
            "paper": "FA point-cloud networks are unaffected by rotations of the input; non-invariant backbones are not",
            "where": "Sec. 5 (point-cloud experiments)",
            "metric": "test accuracy, upright vs rotated (seed mean)",
            "direction": "ordering",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
