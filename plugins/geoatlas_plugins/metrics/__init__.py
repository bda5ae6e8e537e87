"""Plugin: the built-in evaluation metrics."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "metrics",
    "title": "Built-in metrics",
    "summary": "Evaluation metrics for every built-in task, each declaring its tasks, its direction "
    "and the prediction it takes; checked against scikit-learn and scipy.",
    "api": ">=1,<2",
    "status": "stable",
    "components": {
        "metric": {
            "accuracy": {"target": ".supervised:Accuracy", "summary": "fraction of correct labels (higher is better)"},
            "macro_f1": {"target": ".supervised:MacroF1", "summary": "unweighted mean of per-class F1 (higher is better)"},
            "mse": {"target": ".supervised:MSE", "summary": "mean squared error over all elements (lower is better)"},
            "mae": {"target": ".supervised:MAE", "summary": "mean absolute error over all elements (lower is better)"},
            "r2": {"target": ".supervised:R2", "summary": "coefficient of determination, uniform over outputs (higher is better)"},
            "nmi": {"target": ".clustering:NMI", "summary": "normalized mutual information of cluster ids and labels (higher is better)"},
            "ari": {"target": ".clustering:ARI", "summary": "adjusted Rand index (higher is better)"},
            "cluster_accuracy": {"target": ".clustering:ClusterAccuracy", "summary": "accuracy after the Hungarian matching of clusters to classes (higher is better)"},
            "roc_auc": {"target": ".scores:ROCAUC", "summary": "area under the ROC curve of scores (higher is better)"},
            "logloss": {"target": ".scores:LogLoss", "summary": "binary / multiclass log-loss of probabilities (lower is better)"},
            "mrr": {"target": ".ranking:MRR", "summary": "mean reciprocal rank of the true item (higher is better)"},
            "hits_at_1": {"target": ".ranking:HitsAt1", "summary": "fraction of true items ranked first (higher is better)"},
            "hits_at_3": {"target": ".ranking:HitsAt3", "summary": "fraction of true items ranked in the top 3 (higher is better)"},
            "hits_at_10": {"target": ".ranking:HitsAt10", "summary": "fraction of true items ranked in the top 10 (higher is better)"},
            "sliced_wasserstein": {"target": ".generative:SlicedWasserstein", "summary": "sliced 2-Wasserstein distance of generated and held-out samples (lower is better)"},
            "mmd": {"target": ".generative:MMD", "summary": "RBF-kernel maximum mean discrepancy, median-heuristic bandwidth (lower is better)"},
            "nll": {"target": ".generative:NLL", "summary": "mean negative log-likelihood of held-out samples (lower is better)"},
        },
        "measure": {
            "effective_rank": {"target": ".measures:EffectiveRank", "summary": "exp of the entropy of normalised singular values of features or embeddings (Roy & Vetterli 2007)"},
        },
    },
    "verified": ["accuracy, macro_f1, mse, mae, r2 equal scikit-learn's to 1e-12 on random inputs"],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
