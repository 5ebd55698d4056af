import os

import pytest
import torch

# every test runs on the CPU, with few threads (CI has two cores)
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# under pytest-xdist each worker gets one thread so that workers do not fight for cores
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))


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
