"""One intra-op torch thread for every training test: on a shared 2-core machine, OpenMP
threads that wait for each other make tiny convolutions several times slower than one thread."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
