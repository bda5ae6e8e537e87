"""Record the authors' EqMotion outputs that ``test_matches_recorded_authors_outputs`` compares with.

Run once with a checkout of MediaBrain-SJTU/EqMotion (MIT; only its ``n_body_system/*.py`` are
needed, nothing of it is copied here — only the numbers its model computes):

    python plugins/geoatlas_plugins/eqmotion/tests/data/record_authors_outputs.py PATH [COMMIT]

It builds our float64 n-body reasoning model with seeded, perturbed weights
(``benchmark.agreement_case``), copies the weights into the authors' ``EqMotion``
(``n_body_system/model_t_reason.py``), runs both on the same seeded input and writes the authors'
predictions and interaction categories to ``authors_outputs.npz`` beside this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from geoatlas_plugins.eqmotion.benchmark import reference_outputs

if __name__ == "__main__":
    torch.set_num_threads(1)
    ref_path = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "unknown"
    o = reference_outputs(ref_path)
    gap = float((o["prediction"] - o["prediction_ref"]).abs().max())
    np.savez_compressed(Path(__file__).with_name("authors_outputs.npz"), prediction=o["prediction_ref"].numpy(),
                        categories=o["categories_ref"].numpy(), commit=np.array(commit), torch=np.array(torch.__version__))
    print(f"recorded the authors' outputs (commit {commit}); ours differ by {gap:.1e} (scale {float(o['prediction'].abs().max()):.1f})")
