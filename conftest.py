"""Shared pytest set-up: tests and `pytest --nbval notebooks/` run on the fast `smoke` profile.

The notebook kernels inherit this environment, so nbval gets the smoke budgets too.
"""

import os

os.environ.setdefault("RESNET_LAB_PROFILE", "smoke")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread: results differ slightly between 1 and 2 threads
