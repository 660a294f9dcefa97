"""Device names the trainers and experiments take ("auto", "cpu", "cuda:N")."""

from __future__ import annotations

import pytest
import torch

from training.engine.distributed import resolve_device


@pytest.mark.parametrize(("available", "expected"), [(True, "cuda"), (False, "cpu")])
def test_auto_is_cuda_only_when_there_is_one(monkeypatch: pytest.MonkeyPatch, available: bool,
                                             expected: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert resolve_device("auto") == expected


def test_a_named_device_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert [resolve_device(d) for d in ("cpu", "cuda:1")] == ["cpu", "cuda:1"]
