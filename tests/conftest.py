import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Results differ slightly between 1 and 2 threads; tests use 1 (and it is the faster one under load)."""
    torch.set_num_threads(1)
    yield
