"""How long a cold `geoatlas list` takes compared with `python -c "import torch"`.

Listing must stay well under the cost of importing torch as the catalogue grows: discovery
reads manifests only. Reports medians of several cold runs (fresh interpreters) and the ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(repeats: int = 5) -> dict[str, float]:
    py = sys.executable
    list_t = _time([py, "-W", "ignore", "-m", "geoatlas.cli", "list"], repeats)
    torch_t = _time([py, "-c", "import torch"], repeats)
    bare_t = _time([py, "-c", "pass"], repeats)
    res = {"geoatlas_list_s": list_t, "import_torch_s": torch_t, "python_startup_s": bare_t, "ratio_list_over_torch": list_t / torch_t}
    print(f"{'command':<28}{'median s':>10}")
    print(f"{'geoatlas list (cold)':<28}{list_t:>10.3f}")
    label = 'python -c "import torch"'
    print(f"{label:<28}{torch_t:>10.3f}")
    print(f"{'python -c pass':<28}{bare_t:>10.3f}")
    print(f"ratio list / import torch: {res['ratio_list_over_torch']:.2f}")
    return res


if __name__ == "__main__":
    main()
