"""EqMotion: equivariant multi-agent motion prediction with invariant interaction reasoning."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "eqmotion",
    "title": "EqMotion: equivariant multi-agent motion prediction",
    "summary": "An E(n)-equivariant trajectory predictor for interacting agents: equivariant geometric "
    "features, invariant pattern features and an invariant interaction-reasoning module that infers "
    "interaction categories between agents; with a seeded charged-particle / spring simulator.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "EqMotion: Equivariant Multi-agent Motion Prediction with Invariant Interaction Reasoning",
            "authors": ["Chenxin Xu", "Robby T. Tan", "Yuhong Tan", "Siheng Chen", "Yu Guang Wang", "Xinchao Wang", "Yanfeng Wang"],
            "year": 2023,
            "venue": "CVPR",
            "arxiv": "2303.10876",
        }
    ],
    "components": {
        "encoder": {
            "eqmotion": {"target": ".model:EqMotion", "summary": "E(n)-equivariant multi-agent trajectory predictor with invariant interaction reasoning"},
        },
        "dataset": {
            "particle_trajectories": {"target": ".simulate:ParticleTrajectories", "summary": "seeded charged-particle / spring n-body trajectories (past -> future regression)"},
        },
    },
    "extras": [],
    "verified": [
        "check_equivariance in float64: o_n(3), so3, se3, translations, se2, o_n(2), max error < 1e-9 (measured ~1e-15)",
        "agent-permutation equivariance and SE(3)-invariant interaction categories (1e-10)",
        "simulator: momentum conserved to 1e-10, energy to 2% (springs)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
