"""What a checkpoint exports to: one (module, sidecar, file suffix) per deployable network.

A segmenter checkpoint (task "segmentation", module "model") gives one graph: the network
inside export.graphs.SegmentationGraph (uint8 image in, uint8 class ids and confidence out).
A DSANet checkpoint (task "dsanet", modules "encoder" and "generator") gives one graph too,
export.graphs.WeatherGraph (encoder -> code swap -> generator), plus its rain-code bank (made
by `python -m training rainify`) copied next to it as `<stem>_rain_bank.safetensors`; the
sidecar names the bank in `extra`, with the checkpoint's no-rain and clean-code conventions.
(Exports before issue 13 wrote `<stem>_encoder` / `<stem>_generator`; the runtime still loads them.)

Example:
    for target in targets_from_checkpoint("runs/seg", height=256, width=512):
        export_onnx(target.module, target.artifact, out_dir / f"seg{target.suffix}.onnx")
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from export.graphs import WeatherGraph, segmentation_graph
from export.sidecar import exporter_versions, segmentation_artifact, weather_artifact
from rain_seg_ros.artifact import Artifact
from rain_seg_ros.weather import BANK_FORMAT
from training.engine.checkpoint import file_sha256, load_modules, read_metadata, resolve_checkpoint

RAIN_BANK_NAME = "rain_bank.safetensors"   # what `python -m training rainify` writes


@dataclass
class ExportTarget:
    suffix: str                 # appended to the output stem ("" for the graphs exported today)
    module: torch.nn.Module
    artifact: Artifact


def checkpoint_task(checkpoint: str | Path) -> str:
    _, extra, _ = read_metadata(checkpoint)
    task = extra.get("task")
    if task not in ("segmentation", "dsanet", "condition"):
        raise ValueError(f"{checkpoint}: checkpoint task {task!r} cannot be exported "
                         f"(expected 'segmentation', 'dsanet' or 'condition' in its extra metadata)")
    return str(task)


def _size(extra: dict, height: int | None, width: int | None) -> tuple[int, int]:
    default = extra.get("input_size") or extra.get("crop")   # segmenters record input_size, DSANet crop
    h = height or (int(default[0]) if default else None)
    w = width or (int(default[1]) if default else None)
    if not h or not w:
        raise ValueError("the checkpoint records no input_size: pass --height and --width")
    return h, w


def find_rain_bank(checkpoint: str | Path, explicit: str | Path | None = None) -> Path:
    """The DSANet rain-code bank: `explicit`, else rain_bank.safetensors in the step,
    checkpoints or run directory. Its format is checked before any export work."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"rain-code bank {path} does not exist")
    else:
        step_dir = resolve_checkpoint(checkpoint).parent
        found = [f / RAIN_BANK_NAME for f in (step_dir, step_dir.parent, step_dir.parent.parent)
                 if (f / RAIN_BANK_NAME).is_file()]
        if not found:
            raise FileNotFoundError(f"no {RAIN_BANK_NAME} near {step_dir}; pass --rain-bank FILE "
                                    f"(python -m training rainify writes one)")
        path = found[0]
    with safe_open(str(path), framework="numpy") as f:
        if (f.metadata() or {}).get("format") != BANK_FORMAT or "rain_codes" not in f.keys():
            raise ValueError(f"{path} is not a rain-code bank ({BANK_FORMAT} with a 'rain_codes' tensor)")
    return path


def targets_from_checkpoint(checkpoint: str | Path, height: int | None = None, width: int | None = None,
                            *, dynamic_batch: bool = False, exporter: dict[str, str] | None = None,
                            out_stem: str = "model", float_logits: bool = False) -> list[ExportTarget]:
    """Rebuild the deployable networks of a checkpoint (eval mode, CPU) with their sidecars.

    float_logits: segmenters only, the bare network (contract "float": normalised float32 in,
    logits out), for a backend that cannot run the uint8 graph yet.
    """
    task = checkpoint_task(checkpoint)
    _, extra, _ = read_metadata(checkpoint)
    h, w = _size(extra, height, width)
    sha = file_sha256(resolve_checkpoint(checkpoint))
    exporter = exporter if exporter is not None else exporter_versions()
    if task == "segmentation":
        model = load_modules(checkpoint, ["model"])["model"]
        contract = "float" if float_logits else "ids_confidence_u8"
        art = segmentation_artifact(extra, h, w, dynamic_batch=dynamic_batch, checkpoint_sha256=sha,
                                    exporter=exporter, contract=contract)
        return [ExportTarget("", model.eval() if float_logits else segmentation_graph(model, art), art)]
    if task == "condition":   # issue 17: the condition estimator (export/condition_target.py)
        from export.condition_target import condition_targets

        return condition_targets(str(checkpoint), extra, h, w, dynamic_batch=dynamic_batch,
                                 checkpoint_sha256=sha, exporter=exporter)
    if float_logits:
        raise ValueError(f"{checkpoint}: --float-logits is for segmenters; DSANet exports as one graph")
    modules = load_modules(checkpoint, ["encoder", "generator"])
    with torch.no_grad():
        feature = modules["encoder"](torch.zeros(1, 3, h, w))  # (1, C, h/4, w/4)
    c = int(feature.shape[1])
    no_rain = extra.get("no_rain_code", "zeros")
    if no_rain != "zeros":
        raise ValueError(f"{checkpoint}: no-rain code {no_rain!r} is not supported (only 'zeros')")
    clean_code = extra.get("clean_rain_code", "own")   # absent in checkpoints before 2026-11-22
    if clean_code not in ("own", "zeros"):
        raise ValueError(f"{checkpoint}: clean_rain_code {clean_code!r} is not 'own' or 'zeros'")
    facts = {"code_channels": c, "no_rain_code": no_rain, "clean_rain_code": clean_code,
             "rain_bank": f"{out_stem}_{RAIN_BANK_NAME}"}
    art = weather_artifact((c, int(feature.shape[2]), int(feature.shape[3])), h, w,
                           dynamic_batch=dynamic_batch, checkpoint_sha256=sha, exporter=exporter, extra=facts)
    weather = WeatherGraph(modules["encoder"], modules["generator"], own_clean_code=clean_code == "own")
    return [ExportTarget("", weather.eval(), art)]


def export_checkpoint(checkpoint: str | Path, out: str | Path, height: int | None = None,
                      width: int | None = None, *, dynamic_batch: bool = False, opset: int | None = None,
                      rain_bank: str | Path | None = None, float_logits: bool = False) -> list[Path]:
    """Export every deployable network of a checkpoint to `out`'s format (.onnx or .pt2).

    Returns:
        The files written (models; for DSANet also the rain-code bank), sidecars beside each model.
    """
    from export.to_onnx import DEFAULT_OPSET, export_onnx
    from export.to_pt2 import export_pt2

    out = Path(out)
    if out.suffix not in (".onnx", ".pt2"):
        raise ValueError(f"--out must end in .onnx or .pt2, got {out}")
    opset = opset or DEFAULT_OPSET
    more = {"opset": str(opset)} if out.suffix == ".onnx" else {}
    targets = targets_from_checkpoint(checkpoint, height, width, dynamic_batch=dynamic_batch,
                                      exporter=exporter_versions(**more), out_stem=out.stem,
                                      float_logits=float_logits)
    # find and check the DSANet rain-code bank before the slow exports, so a bad bank fails fast
    bank = None
    if targets[0].artifact.task == "dsanet":
        bank = find_rain_bank(checkpoint, rain_bank)
        with safe_open(str(bank), framework="numpy") as f:
            code_channels = f.get_slice("rain_codes").get_shape()[1]
        if 2 * code_channels != targets[0].artifact.extra["code_channels"]:
            raise ValueError(f"{bank} holds rain codes of {code_channels} channels; this DSANet's are "
                             f"{targets[0].artifact.extra['code_channels'] // 2}")
    written = []
    for target in targets:
        path = out.with_name(f"{out.stem}{target.suffix}{out.suffix}")
        if out.suffix == ".onnx":
            written.append(export_onnx(target.module, target.artifact, path, opset=opset))
        else:
            written.append(export_pt2(target.module, target.artifact, path))
    if bank is not None:
        dest = out.with_name(f"{out.stem}_{RAIN_BANK_NAME}")
        shutil.copyfile(bank, dest)
        written.append(dest)
    return written
