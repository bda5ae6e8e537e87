"""Test-wide settings: one torch thread per test process.

`make test` runs pytest with two worker processes on two cores; torch's default of one thread
per core in each would oversubscribe the machine and slow every test several times over.
Subprocesses started by tests inherit OMP_NUM_THREADS.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
