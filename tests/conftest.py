import os
import tempfile

import pytest
import torch

# classifiers and real-data features are cached on disk: keep the tests' cache out of the
# user's and share it within a test session
os.environ["GANBENCH_CACHE"] = tempfile.mkdtemp(prefix="ganbench-test-cache-")

# every test runs on the CPU, with few threads (CI has two cores)
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# one thread: the tests' tensors are tiny, and with two threads on a loaded 2-core machine
# small ops wait on each other (40 ms for a log_softmax); pytest-xdist supplies parallelism
torch.set_num_threads(1)


@pytest.fixture
def tiny_suite_dict():
    """A suite that trains in about a second."""
    return {
        "base": {
            "model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
            "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
            "training": {"iterations": 20, "batch_size": 32},
            "evaluation": {"every": 10, "samples": 200, "metrics": ["modes", "hq_fraction"]},
        },
        "grid": {"objective": ["minimax", "nonsaturating"], "seed": [0, 1]},
    }
