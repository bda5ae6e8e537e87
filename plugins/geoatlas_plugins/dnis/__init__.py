"""Plugin: DNIS, differentiable neural input search for embedding dimensions (Cheng, Shen & Huang, 2020)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "dnis",
    "title": "Differentiable neural input search (DNIS) for recommender systems",
    "summary": "A click-through model whose embedding table carries a soft selection layer alpha (one weight "
    "per frequency block and dimension), learned with the model and then pruned, so that each block of "
    "feature values gets its own embedding size. Use it to search mixed embedding dimensions without a "
    "fixed candidate set.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Differentiable Neural Input Search for Recommender Systems",
            "authors": ["Weiyu Cheng", "Yanyan Shen", "Linpeng Huang"],
            "year": 2020,
            "venue": "arXiv",
            "arxiv": "2006.04466",
        }
    ],
    "components": {
        "encoder": {
            "dnis": {
                "target": ".dnis:DNIS",
                "summary": "embedding table with a soft selection layer over (frequency block, dimension) + MLP click model",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "fewer_parameters_than_fixed_dims",
            "claim": "at the same number of embedding parameters, DNIS's mixed dimensions reach a higher AUC than a uniform (fixed) dimension",
            "paper": "DNIS beats uniform-dimension and other NIS baselines with fewer embedding parameters (2x fewer on CF, 20x on CTR)",
            "where": "Sec. 4 (CTR and CF experiments)",
            "metric": "held-out AUC, DNIS pruned to the parameter count of fixed dims 2 and 4 vs ctr_embedding_mlp at those dims (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "frequent_features_get_more_dims",
            "claim": "frequent feature values keep more embedding dimensions than rare ones",
            "paper": "a larger dimension for popular features, smaller for rare ones (the paper's motivation and its learned dimensions)",
            "where": "Sec. 1 and the analysis of searched dimensions",
            "metric": "Spearman correlation between a block's mean frequency and its kept dims",
            "direction": "higher",
        },
        {
            "id": "movielens_criteo_numbers",
            "claim": "the paper's RMSE/AUC and parameter numbers on MovieLens-20M and Criteo with six architectures",
            "paper": "the paper's tables",
            "where": "Sec. 4",
            "metric": "RMSE, AUC, parameters",
            "direction": "higher",
            "not_echoed": "needs downloads; the tables could not be read here",
        },
    ],
    "verified": [
        "alpha = 1 with nothing pruned equals ctr_embedding_mlp with copied weights exactly (atol 0)",
        "pruning threshold 0 leaves the predictions unchanged; folding alpha into the table gives identical outputs (1e-6)",
        "post-pruning parameter count = sum_k N_k d_k (exact), within the target",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
