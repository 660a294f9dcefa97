"""Rain-code bank: the rain codes of a folder of rainy references, saved for reuse.

File format (safetensors): tensor "rain_codes" (K, C/2, h, w) float32; metadata
"format" = rain_seg_ros.rain_bank/1, "sources" (JSON list of reference file names, row
order), "code_channels" (C), "code_size" ([h, w]), "checkpoint" and "checkpoint_sha256"
(the DSANet that made it). The runtime's WeatherModel reads the same file.

Example:
    net = DSANet.from_checkpoint("runs/dsanet_synth")
    codes, sources = build_rain_bank(net, list_images("rain_refs"), k=16, seed=0)
    save_rain_bank("rain_bank.safetensors", codes, sources, net)
    codes, meta = load_rain_bank("rain_bank.safetensors")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from rain_seg_ros.cli import one_line
from training.dsanet.api import DSANet
from training.dsanet.io import read_image
from training.engine.checkpoint import CheckpointError, file_sha256, verify_safetensors

BANK_FORMAT = "rain_seg_ros.rain_bank/1"


class RainBankError(CheckpointError, ValueError):
    """A rain-code bank file is missing, damaged or not a bank (a ValueError for callers that
    treat a bad bank as a bad value)."""


def build_rain_bank(net: DSANet, refs: list[Path], *, k: int | None = None, seed: int = 0,
                    code_size: tuple[int, int] | None = None,
                    progress: bool = True) -> tuple[torch.Tensor, list[str]]:
    """Rain codes of k references drawn (seeded, without replacement) from refs.

    Args:
        k: how many references (styles); None or >= len(refs) takes them all.
        code_size: (h, w) every code is resized to; default the first reference's code size.
    Returns:
        codes (K, C/2, h, w) float32 on CPU and the chosen reference paths as strings.
    """
    if not refs:
        raise ValueError("no rain reference images")
    chosen = list(refs)
    if k is not None and k < len(refs):
        idx = np.random.default_rng(seed).choice(len(refs), size=k, replace=False)
        chosen = [refs[i] for i in sorted(idx)]
    codes = []
    for path in tqdm(chosen, desc="rain codes", unit="ref", disable=not progress):
        code = net.rain_codes(read_image(path)[None])        # (1, C/2, h', w')
        if code_size is None:
            code_size = (int(code.shape[-2]), int(code.shape[-1]))
        if tuple(code.shape[-2:]) != code_size:
            code = F.interpolate(code, size=code_size, mode="bilinear", align_corners=False)
        codes.append(code.float().cpu())
    return torch.cat(codes), [str(p) for p in chosen]


def save_rain_bank(path: str | Path, codes: torch.Tensor, sources: list[str], net: DSANet) -> Path:
    """Write the bank atomically (see the module docstring for the format)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": BANK_FORMAT, "sources": json.dumps(sources),
            "code_channels": str(2 * codes.shape[1]), "code_size": json.dumps(list(codes.shape[-2:])),
            "checkpoint": net.source,
            "checkpoint_sha256": file_sha256(net.source) if net.source and Path(net.source).is_file() else ""}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_file({"rain_codes": codes.contiguous()}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def load_rain_bank(path: str | Path) -> tuple[torch.Tensor, dict[str, Any]]:
    """codes (K, C/2, h, w) and the decoded metadata (sources as a list).

    Raises:
        RainBankError: the file is missing, truncated, not safetensors or not a bank
            (one line naming the file); nothing in it is ever executed.
    """
    try:
        meta: dict[str, Any] = dict(verify_safetensors(path))   # whole, parseable safetensors
    except CheckpointError as exc:
        raise RainBankError(str(exc)) from exc
    if meta.get("format") != BANK_FORMAT:
        raise RainBankError(f"{path} is not a rain-code bank (format={meta.get('format')!r}); "
                              "give the rain_bank.safetensors that `rainify` wrote")
    try:
        with safe_open(str(path), framework="pt") as f:
            codes = f.get_tensor("rain_codes")
        meta["sources"] = json.loads(meta["sources"])
        meta["code_size"] = json.loads(meta["code_size"])
        meta["code_channels"] = int(meta["code_channels"])
    except Exception as exc:  # safetensors' own errors, KeyError, JSON errors: a damaged bank
        raise RainBankError(f"{path}: damaged rain-code bank ({one_line(exc)})") from exc
    if codes.dim() != 4 or len(meta["sources"]) != codes.shape[0]:
        raise RainBankError(f"{path}: damaged rain-code bank (codes of shape {tuple(codes.shape)} "
                              f"for {len(meta['sources'])} sources)")
    return codes, meta
