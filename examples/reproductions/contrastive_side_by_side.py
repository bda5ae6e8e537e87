"""Issue 17 side by side: the seven contrastive / self-supervised objectives on one small CNN, at
equal budget, beside a supervised and a random-init baseline.

Every row pre-trains (or trains) on the 1347 training digits of scikit-learn (8x8 images, a 75/25
stratified split) for the same number of epochs, batch size, optimiser and learning rate, with the
same encoder (the registered ``cnn``, channels 16-32, 32-d output) wherever the method allows it:

* self-supervised / contrastive rows use the ``representation`` task: two views per image (a small
  random affine map + Gaussian noise), pre-training with the registered loss, then the frozen
  32-d outputs are probed on the held-out quarter by a standardised logistic regression
  ("linear") and a cosine 20-NN ("knn");
* ``simlap`` is supervised: the same task with ``pretrain.labels: true``;
* ``obow`` needs its own student/EMA-teacher encoder ``obow_cnn`` (same channels, 32-d);
* ``dynamic_subspace`` is an encoder that trains itself with its margin loss (``training_step``),
  not a loss: it runs in the ``classification`` task; the supervised baseline (``cnn`` with
  cross-entropy, no views) too. Each trained model is rebuilt from its checkpoint
  (``RunResult.load_model``) and its outputs (10 class scores) are probed the same way on the same
  split; their end-to-end test accuracy is recorded beside the probes;
* the random-init row is the representation task with 0 pre-training epochs.

CLIP (CLOOB's baseline) and MoCo v2 (InterCLR with weights (1, 0)) are run as extra rows, since
the papers' claims are orderings against them. Three seeds; mean +- std. Public API only
(``ga.Pipeline.from_dict`` with registered names). Writes ``contrastive_side_by_side.json``
beside this file. About 5 minutes on one CPU thread.

Run: ``python examples/reproductions/contrastive_side_by_side.py``
"""

from __future__ import annotations

import copy
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import geoatlas as ga

HERE = Path(__file__).resolve().parent
SEEDS = [0, 1, 2]
EPOCHS, BATCH, LR = 4, 128, 3.0e-3
DIM = 32
CNN = {"encoder": "cnn", "params": {"channels": [16, 32]}}
VIEWS = {"group": {"name": "affine_sl", "params": {"spd_scale": 0.1, "translation_scale": 0.15, "rotation_range": 0.3}},
         "noise": 0.05, "n_views": 2}
DATA = {"dataset": "sklearn_digits", "params": {"as_images": True}, "split": {"test": 0.25, "stratify": True}}
INTERCLR = {"in_dim": DIM, "bank_size": 1347, "feat_dim": 32, "hidden_dim": 64, "momentum": 0.99, "queue_len": 512,
            "num_clusters": 30, "neg_num": 128, "pool_size": 400, "min_cluster": 10, "warmup_epochs": 1}

# row id -> (plugin, loss or encoder, paper's claimed ordering, how the row is built)
ROWS: dict[str, dict[str, Any]] = {
    "facenet_triplet": {"loss": {"name": "triplet", "params": {"margin": 0.2, "mining": "semihard"}},
                        "claim": "semi-hard negatives > hardest (and > all triplets)"},
    "cloob": {"loss": {"name": "cloob", "params": {}}, "claim": "CLOOB > CLIP (zero-shot, linear probe)"},
    "clip (CLOOB's baseline)": {"loss": {"name": "clip", "params": {}}, "claim": "baseline of CLOOB"},
    "simlap (supervised)": {"loss": {"name": "simlap", "params": {"num_classes": 10, "embed_dim": DIM, "pairing": "arbitrary",
                                                                 "gate_in_dim": 64, "gate_mlp_dim": 128}},
                            "labels": True, "claim": "arbitrary pairs competitive with identical pairs; above SimCLR/supervised on IN1K"},
    "interclr": {"loss": {"name": "interclr", "params": INTERCLR}, "claim": "InterCLR > MoCo v2 (linear probe)"},
    "moco_v2 (InterCLR's baseline)": {"loss": {"name": "interclr", "params": {**INTERCLR, "intra_weight": 1.0, "inter_weight": 0.0}},
                                      "claim": "baseline of InterCLR"},
    "obow": {"loss": {"name": "obow", "params": {"num_channels": 32, "feature_dim": DIM, "num_words": 1024, "inv_delta": 10.0, "kappa": 5.0}},
             "model": {"encoder": "obow_cnn", "params": {"channels": [16, 32], "bow_levels": 1, "upsample": 2, "alpha": 0.99,
                                                          "total_steps": 44}},
             "claim": "OBoW > contrastive / random-init features (linear probe)"},
    "transitive_invariance": {"loss": {"name": "transitive_triplet", "params": {"margin": 0.5, "edges": "transitive", "k_inter": 1,
                                                                                "inter_features": "input"}},
                              "claim": "transitive (intra + inter) > either invariance alone; > random init"},
    "dynamic_subspace (encoder, supervised)": {"classification": {"encoder": "dynamic_subspace",
                                                                  "params": {"channels": [16, 32], "embedding_dim": DIM, "patience": 5,
                                                                             "recluster_every": 2}},
                                               "claim": "several subspace learners > one learner (retrieval)"},
    "supervised baseline (cnn + cross-entropy)": {"classification": CNN, "claim": "reference"},
    "random-init baseline": {"loss": {"name": "info_nce", "params": {}}, "epochs": 0, "claim": "floor"},
}


def spec_for(row: str, cfg: dict[str, Any], seed: int) -> dict[str, Any]:
    base = {"name": "side_by_side", "seed": seed, "data": copy.deepcopy(DATA), "plots": False,
            "evaluate": {"metrics": ["accuracy"]}}
    if "classification" in cfg:
        model = copy.deepcopy(cfg["classification"])
        if model["encoder"] == "cnn":
            model.setdefault("params", {})
        model["train"] = {"epochs": EPOCHS, "batch_size": BATCH, "optimizer": "adam", "lr": LR}
        return {**base, "models": {"m": model}}
    pre = {"loss": copy.deepcopy(cfg["loss"]), "views": copy.deepcopy(VIEWS), "epochs": cfg.get("epochs", EPOCHS),
           "batch_size": BATCH, "optimizer": "adam", "lr": LR, "probes": ["linear", "knn"]}
    if cfg.get("labels"):
        pre["labels"] = True
    return {**base, "task": {"name": "representation", "params": {"embedding_dim": DIM}},
            "models": {"m": copy.deepcopy(cfg.get("model", CNN))}, "pretrain": pre}


def probes(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray, y_test: np.ndarray, seed: int) -> dict[str, float]:
    """The representation task's probes (standardised logistic regression, C = 1; cosine 20-NN)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lin = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)).fit(f_train, y_train)
    knn = KNeighborsClassifier(n_neighbors=20, metric="cosine", algorithm="brute").fit(f_train, y_train)
    return {"linear": float(lin.score(f_test, y_test)), "knn": float(knn.score(f_test, y_test))}


def supervised_probes(res: Any, seed: int) -> dict[str, float]:
    """A model trained end to end (classification task): rebuild it from its checkpoint
    (``RunResult.load_model``), take its outputs on the task's split (scikit-learn's stratified
    75/25 split with the pipeline seed; checked: the argmax of the outputs gives the run's own
    test accuracy), and probe them like the representation task's frozen features."""
    from sklearn.model_selection import train_test_split

    bundle = ga.create("dataset", "sklearn_digits", as_images=True).load()
    X, y = np.asarray(bundle.X), np.asarray(bundle.y)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, random_state=seed, stratify=y)
    model = res.load_model("m")
    with torch.no_grad():
        f_tr = model(torch.as_tensor(X[tr])).reshape(len(tr), -1).numpy()
        f_te = model(torch.as_tensor(X[te])).reshape(len(te), -1).numpy()
    out = probes(f_tr, y[tr], f_te, y[te], seed)
    out["end_to_end"] = float(res["m"]["accuracy"])
    if f_te.shape[1] == 10:  # class scores: the run's test accuracy from them (split check)
        own = float((f_te.argmax(1) == y[te]).mean())
        if abs(own - out["end_to_end"]) > 1e-6:
            raise RuntimeError(f"split mismatch: {own} vs the run's {out['end_to_end']}")
    out["feature_dim"] = int(f_te.shape[1])
    return out


def run_one(row: str, cfg: dict[str, Any], seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        res = ga.Pipeline.from_dict(spec_for(row, cfg, seed)).run(runs_root=tmp, progress=False)
        m = res["m"]
        if "probes" in m:
            return {"linear": float(m["probes"]["linear"]["accuracy"]), "knn": float(m["probes"]["knn"]["accuracy"])}
        return supervised_probes(res, seed)


def main() -> None:
    torch.set_num_threads(1)
    t0 = time.time()
    out: dict[str, Any] = {}
    for row, cfg in ROWS.items():
        t = time.time()
        runs = [run_one(row, cfg, s) for s in SEEDS]
        entry: dict[str, Any] = {"paper_claim": cfg["claim"]}
        for key in ("linear", "knn", "end_to_end"):
            if key in runs[0]:
                v = np.array([r[key] for r in runs])
                entry[f"{key}_mean"], entry[f"{key}_std"] = float(v.mean()), float(v.std())
        if "feature_dim" in runs[0]:
            entry["probed_features"] = f"the trained model's {runs[0]['feature_dim']}-d outputs (class scores)"
        entry["per_seed"] = runs
        entry["seconds"] = round(time.time() - t, 1)
        out[row] = entry
        e2e = f"   end-to-end {entry['end_to_end_mean']:.3f} +- {entry['end_to_end_std']:.3f}" if "end_to_end_mean" in entry else ""
        print(f"{row:44s} linear {entry['linear_mean']:.3f} +- {entry['linear_std']:.3f}   "
              f"knn {entry['knn_mean']:.3f} +- {entry['knn_std']:.3f}{e2e}   ({entry['seconds']} s)", flush=True)
    result = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - t0, 1),
        "command": "python examples/reproductions/contrastive_side_by_side.py",
        "scale": f"sklearn digits 8x8, 1347 train / 450 test; cnn 16-32 -> {DIM}-d (obow_cnn / dynamic_subspace with the same "
                 f"channels); 2 affine+noise views; {EPOCHS} epochs, batch {BATCH}, Adam lr {LR}; seeds {SEEDS}",
        "python": platform.python_version(), "torch": torch.__version__,
        "rows": out,
    }
    (HERE / "contrastive_side_by_side.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
