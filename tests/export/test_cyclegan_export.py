"""CycleGAN export: F (or G) to ONNX with its sidecar, parity with PyTorch, the runtime
Translator on uint8 frames, and F -> segmenter fused into one segmentation graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from export.__main__ import main as export_main
from rain_seg_ros.artifact import ArtifactError, load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.translate import Translator
from training.engine.checkpoint import (
    ModuleSpec,
    file_sha256,
    load_modules,
    resolve_checkpoint,
    save_checkpoint,
)
from training.models import build_model


@pytest.fixture(scope="module")
def cyclegan_checkpoint(tmp_path_factory):
    """An untrained CycleGAN run (random weights: the I/O signature is what matters), crop 16x24."""
    torch.manual_seed(3)
    gen = ModuleSpec("resnet_generator", {"base_channels": 4, "num_blocks": 1, "num_down": 2})
    disc = ModuleSpec("patch_discriminator", {"base_channels": 4, "num_layers": 2})
    modules = {name: (spec, build_model(spec.kind, spec.config))
               for name, spec in (("gen_g", gen), ("gen_f", gen), ("disc_day", disc), ("disc_night", disc))}
    run = tmp_path_factory.mktemp("cyclegan_run")
    save_checkpoint(run / "checkpoints", 7, modules, extra_meta={"task": "cyclegan", "crop": [16, 24]})
    return run


@pytest.fixture(scope="module")
def night2day(cyclegan_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("cg_out") / "night2day.onnx"
    assert export_main(["onnx", "--checkpoint", str(cyclegan_checkpoint), "--out", str(out),
                        "--direction", "night2day", "--height", "24", "--width", "32"]) == 0
    return out


def test_sidecar_and_parity_of_f(night2day, cyclegan_checkpoint):
    art = load_artifact(night2day)
    assert art.task == "cyclegan_generator" and art.extra["direction"] == "night2day"
    assert art.input.shape == [1, 3, 24, 32] and art.output.shape == [1, 3, 24, 32]
    assert art.mean == (0.0, 0.0, 0.0) and art.std == (1.0, 1.0, 1.0)
    assert art.source_checkpoint_sha256 == file_sha256(resolve_checkpoint(cyclegan_checkpoint))
    x = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    gen_f = load_modules(cyclegan_checkpoint, ["gen_f"])["gen_f"]
    with torch.no_grad(), open_backend(night2day, backend="onnxruntime", device="cpu") as runner:
        ours = runner.infer(x.numpy())
        np.testing.assert_allclose(ours, gen_f(x).numpy(), atol=1e-4)
        gen_g = load_modules(cyclegan_checkpoint, ["gen_g"])["gen_g"]
        assert np.abs(ours - gen_g(x).numpy()).max() > 1e-3      # F was exported, not G


def test_export_verify_checks_the_generator(night2day, cyclegan_checkpoint, capsys):
    assert export_main(["verify", "--model", str(night2day), "--checkpoint", str(cyclegan_checkpoint),
                        "--backend", "onnxruntime"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_translator_maps_uint8_frames_of_any_size(night2day, cyclegan_checkpoint):
    rgb = np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    with Translator(night2day, backend="onnxruntime", device="cpu", direction="night2day") as tr:
        out = tr(rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    # reference: torch's own bilinear resizes around the PyTorch generator (not the runtime's cv2 path)
    gen_f = load_modules(cyclegan_checkpoint, ["gen_f"])["gen_f"]
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = gen_f(F.interpolate(x, size=(24, 32), mode="bilinear", align_corners=False))
        y = F.interpolate(y, size=(30, 50), mode="bilinear", align_corners=False)
    ref = (y[0].permute(1, 2, 0).clamp(0, 1) * 255).numpy()
    assert np.abs(out.astype(float) - ref).mean() < 2.0
    with pytest.raises(ArtifactError, match="translates night2day, not day2night"):
        Translator(night2day, backend="onnxruntime", device="cpu", direction="day2night")


def test_f_then_segmenter_is_one_segmentation_graph(cyclegan_checkpoint, seg_checkpoint, tmp_path):
    out = tmp_path / "n2d_seg.onnx"
    assert export_main(["onnx", "--checkpoint", str(cyclegan_checkpoint), "--out", str(out),
                        "--direction", "night2day", "--segmenter", str(seg_checkpoint)]) == 0
    art = load_artifact(out)
    assert art.task == "segmentation" and art.input_size == (32, 64)          # the segmenter's size
    assert art.mean == (0.0, 0.0, 0.0) and art.std == (1.0, 1.0, 1.0)         # normalised inside
    assert art.extra["translate"]["direction"] == "night2day" and art.num_classes == 19
    assert art.contract == "ids_confidence_u8"                                # uint8 in, ids out
    x = torch.rand(1, 3, 32, 64, generator=torch.Generator().manual_seed(2))
    gen_f = load_modules(cyclegan_checkpoint, ["gen_f"])["gen_f"]
    seg = load_modules(seg_checkpoint, ["model"])["model"]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    image = (x.permute(0, 2, 3, 1) * 255).round().to(torch.uint8)             # (1, 32, 64, 3)
    with torch.no_grad():
        normalised = (gen_f(image.permute(0, 3, 1, 2).float() / 255).clamp(0, 1) - mean) / std
        expected = seg(normalised).double().numpy()
        low = seg.body(normalised).double().numpy()      # TinySegmenter's logits before its upsample
    with open_backend(out, backend="onnxruntime", device="cpu") as runner:
        mask, confidence = runner.run([image.numpy()], ["mask", "confidence"])
    assert (mask == expected.argmax(1)).mean() > 0.99                        # numpy argmax
    # the confidence comes from the segmenter's logits before its final bilinear upsample, at their
    # resolution (the host resizes it)
    assert art.extra["confidence"] == "low_resolution" and confidence.shape == (1, 16, 32)
    softmax_max = 1.0 / np.exp(low - low.max(1, keepdims=True)).sum(1)       # (1, 16, 32)
    assert np.abs(confidence.astype(float) - 255 * softmax_max).max() <= 1.0  # within 1 LSB
    with pytest.raises(ArtifactError, match="not a translator|a translator needs"):
        Translator(out)
    # the runtime's Segmenter (what segmentation_node serves) runs it unchanged on uint8 frames
    from rain_seg_ros.segmenter import Segmenter

    rgb = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    with Segmenter(out, backend="onnxruntime", device="cpu") as served, torch.no_grad():
        mask = served.segment(rgb).mask
        frame = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
        ref = seg((gen_f(frame).clamp(0, 1) - mean) / std).argmax(1)[0].numpy()
    assert (mask == ref).mean() > 0.99


def test_bad_cyclegan_exports_are_one_line(cyclegan_checkpoint, seg_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:   # argparse: usage + one error line, status 2
        export_main(["onnx", "--checkpoint", str(cyclegan_checkpoint), "--out", str(tmp_path / "a.onnx")])
    assert exit_info.value.code == 2 and "needs --direction" in capsys.readouterr().err
    assert export_main(["onnx", "--checkpoint", str(cyclegan_checkpoint), "--out", str(tmp_path / "b.onnx"),
                        "--direction", "day2night", "--height", "30", "--width", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --height/--width 30x32 must be multiples of 4") and "\n" not in err
    assert export_main(["onnx", "--checkpoint", str(seg_checkpoint), "--out", str(tmp_path / "c.onnx"),
                        "--direction", "day2night"]) == 2
    assert "not a CycleGAN one" in capsys.readouterr().err
