"""Plugin: the built-in tasks (what a pipeline does with data and models)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "tasks",
    "title": "Built-in tasks",
    "summary": "Classification, regression, forecasting, clustering, link prediction, click-through "
    "ranking, generation and representation learning: how a pipeline splits data, trains each model "
    "and predicts, behind the core's Task contract.",
    "api": ">=1,<2",
    "status": "stable",
    "components": {
        "task": {
            "classification": {"target": ".supervised:Classification", "summary": "class labels; stratified split; accuracy, macro F1"},
            "regression": {"target": ".supervised:Regression", "summary": "real targets (any shape); mse, mae, r2"},
            "forecasting": {"target": ".forecasting:Forecasting", "summary": "windows of a multichannel series (input length, horizon); chronological split; mse/mae per horizon"},
            "clustering": {"target": ".clustering:Clustering", "summary": "no labels in training; nmi, ari, Hungarian-matched accuracy"},
            "link_prediction": {"target": ".link_prediction:LinkPrediction", "summary": "held-out edges of a graph or triples of a knowledge graph; mrr, hits@k, roc_auc"},
            "ranking": {"target": ".ranking:Ranking", "summary": "click-through tables of categorical fields; roc_auc, logloss"},
            "generation": {"target": ".generation:Generation", "summary": "density models / samplers; held-out samples; sliced Wasserstein, MMD, NLL"},
            "representation": {"target": ".representation:Representation", "summary": "self-supervised pre-training with a registered loss and views, then linear / kNN probes"},
        },
    },
    "verified": [
        "every pipeline that predates the task contract gives the same metrics as before (tests/core/test_pipeline_run.py)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
