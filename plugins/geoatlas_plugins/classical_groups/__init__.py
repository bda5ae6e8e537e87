"""Built-in plugin: classical groups acting on point clouds, vectors, graphs and node sets."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "classical_groups",
    "title": "Classical groups",
    "summary": "SO(2), SO(3), SO(n), O(n), SE(2), SE(3), translations and permutations, "
    "with Haar sampling for the compact ones and actions on point clouds, vectors and graphs.",
    "status": "stable",
    "api": ">=1,<2",
    "components": {
        "group": {
            "so2": {"target": ".groups:SO2", "summary": "planar rotations (2x2 matrices)"},
            "so3": {"target": ".groups:SO3", "summary": "3-D rotations (3x3 matrices), Haar via unit quaternions"},
            "son": {"target": ".groups:SOn", "summary": "rotations of R^n, Haar via QR"},
            "o_n": {"target": ".groups:On", "summary": "orthogonal group O(n), Haar via QR"},
            "se2": {"target": ".groups:SE2", "summary": "rigid motions of the plane (3x3 homogeneous)"},
            "se3": {"target": ".groups:SE3", "summary": "rigid motions of space (4x4 homogeneous)"},
            "translations": {"target": ".groups:Translations", "summary": "translations of R^n"},
            "permutations": {"target": ".groups:Permutations", "summary": "symmetric group S_n acting on points / nodes"},
        }
    },
    "verified": [
        "geoatlas.testing.check_group on every group: identity, inverse, associativity, action laws",
        "Haar sampling: E[R] = 0 and E[R_ij^2] = 1/n for SO(n)/O(n) (Monte Carlo, 4000 samples)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
