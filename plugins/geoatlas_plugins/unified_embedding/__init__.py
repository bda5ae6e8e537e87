"""Plugin: Unified Embedding, feature multiplexing in one shared table (Coleman et al., NeurIPS 2023)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "unified_embedding",
    "title": "Unified Embedding: feature multiplexing",
    "summary": "A click-through model whose categorical features all share one embedding table "
    "(feature multiplexing): each feature is looked up k_f times with its own salted hash "
    "(multi-probe) and the rows are concatenated, so the parameter count is T*B*d_c whatever the "
    "vocabularies. Use it when many categorical features must fit a fixed embedding budget; "
    "layout='per_feature' gives the per-feature hashing-trick baseline at the same budget.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Unified Embedding: Battle-Tested Feature Representations for Web-Scale ML Systems",
            "authors": ["Benjamin Coleman", "Wang-Cheng Kang", "Matthew Fahrbach", "Ruoxi Wang", "Lichan Hong",
                        "Ed H. Chi", "Derek Zhiyuan Cheng"],
            "year": 2023,
            "venue": "NeurIPS",
            "arxiv": "2305.12102",
        }
    ],
    "components": {
        "encoder": {
            "unified_embedding": {
                "target": ".unified:UnifiedEmbedding",
                "summary": "CTR model on a shared multiplexed embedding table (salted multi-probe hashing) + MLP",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "multiplexing_beats_per_feature_at_equal_budget",
            "claim": "at the same embedding parameter budget, a single multiplexed table (Unified Embedding) reaches at least the AUC of per-feature hashed tables, most clearly at small budgets",
            "paper": "Unified Embedding is on or near the Pareto front of parameters vs AUC on Criteo/Avazu/MovieLens, above per-feature hashing at equal size",
            "where": "Sec. 5, parameter-accuracy Pareto figures",
            "metric": "held-out AUC, unified minus per-feature, at each of 3 budgets (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "multi_probe_helps",
            "claim": "at a fixed table size, giving more probes (lookups) to features is at least as good as one probe",
            "paper": "multi-probe (variable number of lookups per feature) improves on single-probe multiplexing",
            "where": "Sec. 4 (Unified Embedding design) and ablations",
            "metric": "held-out AUC, k_f = 2 vs k_f = 1 at the same table (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "inter_feature_collisions_benign",
            "claim": "collisions between different features in the shared table hurt less than collisions within a feature",
            "paper": "inter-feature collisions are mitigated because the next layer sees each feature at its own input weights (Sec. 3 theory)",
            "where": "Sec. 3 (feature multiplexing analysis)",
            "metric": "AUC of a unified table of B rows vs per-feature tables of B/F rows each when all features are squeezed together (same parameters)",
            "direction": "ordering",
        },
        {
            "id": "web_scale_production",
            "claim": "Unified Embedding improved offline and online metrics in five web-scale Google systems",
            "paper": "production gains in web-scale search, ads and recommendation systems",
            "where": "Sec. 6",
            "metric": "production metrics",
            "direction": "ordering",
            "not_echoed": "needs Google's production systems and data",
        },
    ],
    "verified": [
        "identity hash with B = sum_f V_f equals ctr_embedding_mlp with copied weights exactly (atol 0)",
        "universal hashes into a large collision-free table equal per-feature tables after the row permutation (atol 0)",
        "observed collision fractions match the closed form 1 - (1 - 1/B)^(n-1) within 4 sigma over 30 salts",
        "parameter count is T*B*d_c for any feature set; per-feature layout uses at most the budget",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
