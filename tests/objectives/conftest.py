import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """These tests use tiny tensors: one thread is faster than two, and far faster when
    other processes share the cores (two spinning threads then wait on each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
