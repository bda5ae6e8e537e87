"""Re-pin the metrics of every example pipeline: `python tests/core/data/pin_metrics.py`.

`tests/core/test_packaging.py::test_example_pipeline_runs` compares each example pipeline's
metrics with `pinned_metrics.json`, so a change to any number is deliberate: rerun this script,
and say in the commit why the numbers moved. (Core v2 was first checked against the metrics the
pre-v2 code produced, commit 46bdc5a: all 22 specs identical; fidelity fixes to plugins changed
some numbers afterwards, on purpose.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    import geoatlas as ga
    from geoatlas.layout import all_builtin_pipelines

    specs = sorted((ROOT / "examples" / "pipelines").glob("*.yaml")) + [p for _, p in all_builtin_pipelines()]
    out = {}
    for spec in specs:
        res = ga.Pipeline.from_yaml(spec).run(runs_root=tempfile.mkdtemp(), progress=False)
        out[str(spec.relative_to(ROOT))] = res.metrics["models"]
        print("pinned", spec.relative_to(ROOT), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    doc = {"_about": f"metrics of every example pipeline at commit {commit} (one torch thread); regenerate with "
                     "tests/core/data/pin_metrics.py when a change to the numbers is intended", "pipelines": out}
    (ROOT / "tests" / "core" / "data" / "pinned_metrics.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
