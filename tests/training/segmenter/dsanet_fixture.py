"""A tiny random DSANet checkpoint and rain-code bank for the segmenter tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.engine import checkpoint as ckpt

DSANET_KW = {"code_channels": 8, "base_channels": 4, "num_res_blocks": 1}


def write_tiny_dsanet(root: Path, bank_size: int = 2, **meta: str) -> tuple[Path, Path]:
    """Returns (checkpoint run dir, rain bank file); meta: extra checkpoint metadata (e.g.
    rainify_output="residual"). Skips the test until DSANet (issue 3) is merged."""
    pytest.importorskip("training.dsanet.api", reason="needs DSANet (training.dsanet, issue 3)")
    from training.dsanet.api import DSANet
    from training.dsanet.bank import save_rain_bank
    from training.models.dsanet import Disentangler, Synthesizer

    torch.manual_seed(0)
    enc, gen = Disentangler(**DSANET_KW), Synthesizer(**DSANET_KW)
    run = root / "dsanet"
    ckpt.save_checkpoint(run / "checkpoints", 1,
                         {"encoder": (ckpt.ModuleSpec("dsanet_encoder", DSANET_KW), enc),
                          "generator": (ckpt.ModuleSpec("dsanet_generator", DSANET_KW), gen)},
                         extra_meta={"task": "dsanet", "code_channels": 8, **meta})
    net = DSANet.from_checkpoint(run)
    codes = torch.randn(bank_size, 4, 8, 16)
    bank = save_rain_bank(root / "bank.safetensors", codes, [f"ref{k}" for k in range(bank_size)], net)
    return run, bank
