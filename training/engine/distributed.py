"""torchrun / DistributedDataParallel set-up, usable on one CPU process too.

Under torchrun (RANK/WORLD_SIZE/LOCAL_RANK set) `setup()` joins the process group: NCCL on
CUDA, gloo on CPU (how the tests run two processes here). Without torchrun it is a no-op and
`Dist.world_size == 1`.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> Dist:
    """Join the torchrun process group if there is one; pick this process's device.

    Args:
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(resolve_device(device))
    if dev.type == "cuda":
        dev = torch.device("cuda", local if dev.index is None else dev.index)
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank=rank, world_size=world, local_rank=local, device=dev)


def resolve_device(device: str) -> str:
    """"auto" is CUDA when available, else the CPU; any other name is kept as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over processes in place (no-op on one process)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed Python, NumPy and torch; each rank gets its own stream so data differs per rank."""
    s = seed + rank
    random.seed(s)
    np.random.seed(s % (2**32))
    torch.manual_seed(s)
