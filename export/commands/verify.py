"""`python -m export verify`: run an exported model and its PyTorch checkpoint on the same inputs.

Inputs are random images and, with --images, real ones, all through the runtime's
preprocessing (the sidecar's). Prints the max absolute and relative error and, for
segmenters, the label (argmax) agreement; exits 1 when a tolerance is exceeded.
Segmenters with results in the graph (contract ids_confidence_u8) are fed uint8 images and
judged against numpy's argmax / max-softmax of the PyTorch logits: label agreement and the
confidence within 1 LSB (export/parity.py says why agreement is a fraction, and which logits the
confidence is judged on). DSANet as one graph (image_u8) is fed random rain codes and intensities
and compared in LSB. Old two-file DSANet generators are fed the PyTorch encoder's features of the same images.

A `.pt2` is a PyTorch program that can run code when loaded: it is verified only with
--trust-pt2 (for a file you made or trust); without it the command refuses before loading.

Example:
    python -m export verify --model artifacts/segformer.onnx --checkpoint runs/segformer \
        --images data/cityscapes/leftImg8bit/val --max-images 8
    python -m export verify --model artifacts/segformer.pt2 --checkpoint runs/segformer --trust-pt2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from export.commands.onnx import EXPORT_ERRORS
from export.final_upsample import InterpolateCalls
from export.graphs import WeatherGraph
from export.parity import EMPTY, ParityReport, compare, compare_ids, compare_u8
from rain_seg_ros.artifact import Artifact, load_artifact
from rain_seg_ros.backends import BACKENDS, BackendError, UntrustedModelError, check_model_path, open_backend
from rain_seg_ros.backends.base import Backend
from rain_seg_ros.preprocess import list_images, preprocess, preprocess_u8, read_rgb
from training.engine.checkpoint import file_sha256, load_modules, resolve_checkpoint

MODULE_OF_TASK = {"segmentation": "model", "dsanet_encoder": "encoder", "dsanet_generator": "generator",
                  "condition": "model", "dsanet": "generator"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m export verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="exported .onnx/.pt2/.engine with sidecar")
    parser.add_argument("--checkpoint", required=True, help="the checkpoint it was exported from")
    parser.add_argument("--images", type=Path, help="folder of real images to compare on as well")
    parser.add_argument("--max-images", type=int, default=8, help="real images used (default %(default)s)")
    parser.add_argument("--num-random", type=int, default=4, help="random images (default %(default)s)")
    parser.add_argument("--backend", default="auto", choices=BACKENDS)
    parser.add_argument("--device", default="cpu", help="device for the exported model (default cpu)")
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="max |diff| / max |reference| allowed (default %(default)s; ~1e-2 for fp16)")
    parser.add_argument("--min-agreement", type=float, default=0.999,
                        help="segmenters: min fraction of equal labels (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trust-pt2", action="store_true",
                        help="allow loading a .pt2 --model: it is a PyTorch program and can run code "
                             "when loaded, so give this only for files you made or trust")
    args = parser.parse_args(argv)
    if args.num_random < 0 or args.max_images < 1 or args.rtol <= 0 or not 0 <= args.min_agreement <= 1:
        parser.error("need --num-random >= 0, --max-images >= 1, --rtol > 0, 0 <= --min-agreement <= 1")
    try:
        check_model_path(args.model)
        if args.model.suffix == ".pt2" and not args.trust_pt2:  # refuse before anything reads it
            raise UntrustedModelError(args.model)
        return run(args)
    except (*EXPORT_ERRORS, BackendError) as exc:
        print(f"error: --model: {exc}" if isinstance(exc, BackendError) else f"error: {exc}",
              file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    """Compare and print; 0 when within tolerance, 1 when not."""
    artifact = load_artifact(args.model)
    # a CycleGAN generator's sidecar names its module (gen_f for night2day, gen_g for day2night)
    name = str(artifact.extra.get("module")) if artifact.task == "cyclegan_generator" \
        else MODULE_OF_TASK[artifact.task]
    if artifact.source_checkpoint_sha256 != file_sha256(resolve_checkpoint(args.checkpoint)):
        print("warning: the model's sidecar names another checkpoint (sha256 differs)", file=sys.stderr)
    modules = load_modules(args.checkpoint, ["encoder", name] if name == "generator" else [name])
    if artifact.contract == "image_u8":
        weather = WeatherGraph(modules["encoder"], modules["generator"],
                               own_clean_code=artifact.extra.get("clean_rain_code", "own") == "own").eval()

    rng = np.random.default_rng(args.seed)
    h, w = artifact.input_size
    sources = {"random": [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(args.num_random)]}
    if args.images:
        sources["images"] = [read_rgb(p) for p in list_images(args.images, args.max_images)]
    batch_size = artifact.input.shape[0] if isinstance(artifact.input.shape[0], int) else 2
    labels_axis = 1 if artifact.task == "segmentation" else None

    total = EMPTY
    with open_backend(args.model, backend=args.backend, device=args.device,
                      trust_pt2=args.trust_pt2) as runner:
        print(f"verify {runner.model_path} ({runner.name} on {runner.device}) against {args.checkpoint}")
        for source, images in sources.items():
            report: ParityReport = EMPTY
            # a static-batch model needs full batches; a dynamic one takes the remainder too
            last = len(images) if artifact.dynamic_batch else len(images) - batch_size + 1
            for start in range(0, max(last, 0), batch_size):
                chunk = images[start:start + batch_size]
                if artifact.contract == "ids_confidence_u8":
                    part = _compare_segmentation_graph(runner, modules[name], chunk, artifact)
                elif artifact.contract == "image_u8":
                    part = _compare_weather_graph(runner, weather, chunk, artifact, rng)
                else:
                    batch, _ = preprocess(chunk, artifact)
                    with torch.no_grad():
                        x = torch.from_numpy(batch)
                        if name == "generator":
                            x = modules["encoder"](x)                  # generators take features
                        reference = modules[name](x).numpy()
                    part = compare(reference, runner.infer(x.numpy()), labels_axis)
                report = report.merge(part)
            if report.samples:
                agree = f"  label agreement {report.agreement:.4%}" if report.agreement is not None else ""
                error = (f"uint8 max diff {report.max_lsb} LSB" if report.max_lsb is not None
                         else f"max abs {report.max_abs:.3e}  max rel {report.max_rel:.3e}")
                print(f"  {source:<7} {report.samples:3d} samples  {error}{agree}")
            total = total.merge(report)
    if total.samples == 0:
        print(f"error: no full batch of {batch_size} inputs to compare", file=sys.stderr)
        return 2
    verdict = total.passed(args.rtol, args.min_agreement)
    tolerance = f"rtol {args.rtol:g}" if total.max_lsb is None else "max 1 LSB"
    print(f"{'PASS' if verdict else 'FAIL'} ({tolerance}"
          + (f", min agreement {args.min_agreement:.3%})" if labels_axis else ")"))
    return 0 if verdict else 1


def _compare_segmentation_graph(runner: Backend, model: torch.nn.Module, images: list[np.ndarray],
                                artifact: Artifact) -> ParityReport:
    """uint8 images through the exported graph vs numpy argmax / max-softmax of PyTorch's logits
    (before the final upsample when the sidecar says the graph computes its confidence there)."""
    u8, _ = preprocess_u8(images, artifact)
    floats, _ = preprocess(images, artifact)        # the float path older exports took
    with torch.no_grad(), InterpolateCalls() as calls:
        logits = model(torch.from_numpy(floats))
    low, upsample = None, None
    where = artifact.extra.get("confidence")
    if where in ("before_upsample", "low_resolution"):
        low = calls.input_of(logits)
        upsample = calls.final_upsample(logits) if where == "before_upsample" else None
        if low is None:
            raise ValueError(f"{runner.model_path.name}: the sidecar says the confidence is computed before "
                             f"the final upsample, but this checkpoint's model does not end with one; "
                             f"verify against the checkpoint it was exported from")
    ids, confidence = runner.run([u8], ["mask", "confidence"])
    return compare_ids(logits.numpy(), ids, confidence, None if low is None else low.numpy(), upsample)


def _compare_weather_graph(runner: Backend, weather: torch.nn.Module, images: list[np.ndarray],
                           artifact: Artifact, rng: np.random.Generator) -> ParityReport:
    """DSANet as one graph vs the same swap in PyTorch, random rain codes and intensities."""
    u8, _ = preprocess_u8(images, artifact)
    code_shape = [len(images), *(int(d) for d in artifact.inputs[1].shape[1:])]
    codes = rng.normal(size=code_shape).astype(np.float32)
    intensity = rng.uniform(0.0, 1.0, len(images)).astype(np.float32)
    with torch.no_grad():
        reference = weather(*(torch.from_numpy(a) for a in (u8, codes, intensity))).numpy()
    (exported,) = runner.run([u8, codes, intensity])
    return compare_u8(reference, exported)
