"""Test-wide settings: one torch thread per test process.

`make test` runs pytest with two worker processes on two cores; torch's default of one thread
per core in each would oversubscribe the machine and slow every test several times over.
Subprocesses started by tests inherit OMP_NUM_THREADS.

Hypothesis draws the same examples on every run (``derandomize``), so a test run is a function of
the commit: a property that fails fails every time, and a green run stays green. To hunt for new
counterexamples locally, run with ``HYPOTHESIS_PROFILE=explore``.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

torch.set_num_threads(1)
