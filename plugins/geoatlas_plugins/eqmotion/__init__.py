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
    "claims": [
        {
            "id": "beats_baselines",
            "claim": "EqMotion predicts particle-dynamics trajectories with lower ADE/FDE than the baselines",
            "paper": "state of the art on particle dynamics, 24.0% better than the previous best",
            "where": "abstract; particle-dynamics results table (Sec. 5)",
            "metric": "test ADE / FDE (charged particles)",
            "direction": "ordering",
        },
        {
            "id": "rotation_unchanged",
            "claim": "predictions are E(n)-equivariant, so the error is unchanged when the test trajectories are rotated",
            "paper": "equivariant by design (exact)",
            "where": "Sec. 4 (equivariant geometric feature learning)",
            "metric": "relative change of ADE/FDE on a randomly rotated test set",
            "direction": "match",
        },
        {
            "id": "relation_reasoning",
            "claim": "the invariant interaction categories, learnt without supervision, recover the true interaction types better than chance (the paper's number is not confirmed in our notes)",
            "paper": "categories match the true relations well above chance (number not confirmed)",
            "where": "Sec. 5 (interaction reasoning)",
            "metric": "relation accuracy, max(acc, 1-acc), 2 categories",
            "direction": "higher",
        },
    ],
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
