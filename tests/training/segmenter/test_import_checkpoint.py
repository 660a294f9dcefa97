"""import-checkpoint: a pretrained HF SegFormer folder / torchvision DeepLabV3 .pth becomes a project
checkpoint whose logits, reloaded the way `evaluate` and `export` reload it, equal the source's."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from export.targets import targets_from_checkpoint
from training.commands import import_checkpoint
from training.models.deeplabv3 import DeepLabV3
from training.segmenter.evaluation import load_segmenter


def randomise_batchnorm(model: torch.nn.Module, seed: int) -> None:
    """Give every BatchNorm running statistics and affine values a fresh init would not have, so a
    weight left at init (or statistics moved by a training step) changes the logits."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def reloaded(out) -> tuple[torch.nn.Module, dict, torch.nn.Module]:
    model, meta = load_segmenter(out)                            # what `evaluate` runs
    # what `export onnx|pt2 --float-logits` traces (the uint8 graph wraps this same network)
    (target,) = targets_from_checkpoint(out, 32, 48, float_logits=True)
    return model, meta, target.module


def test_hf_segformer_logits_equal_transformers(tmp_path, capsys):
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    torch.manual_seed(0)
    names = ["road", "car", "sky", "person", "other"]
    config = SegformerConfig(hidden_sizes=[8, 16, 40, 64], depths=[1, 1, 1, 1], decoder_hidden_size=16,
                             num_labels=5, id2label=dict(enumerate(names)))
    source = SegformerForSemanticSegmentation(config).eval()
    randomise_batchnorm(source, 1)
    source.save_pretrained(tmp_path / "hf", safe_serialization=True)

    out = tmp_path / "imported"
    assert import_checkpoint.main(["--from", "hf-segformer", str(tmp_path / "hf"), "--out", str(out),
                                   "--input-size", "32x48"]) == 0, capsys.readouterr().err
    model, meta, exported = reloaded(out)
    assert meta["num_classes"] == 5 and meta["class_names"] == names and meta["task"] == "segmentation"
    assert meta["imported_from"]["kind"] == "hf-segformer"

    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        reference = source(pixel_values=x).logits                         # (2, 5, 8, 12)
        torch.testing.assert_close(model.model(pixel_values=x).logits, reference, rtol=0, atol=1e-6)
        full = F.interpolate(reference, size=x.shape[-2:], mode="bilinear", align_corners=False)
        torch.testing.assert_close(model(x), full, rtol=0, atol=1e-6)
        torch.testing.assert_close(exported(x), full, rtol=0, atol=1e-6)


def test_hf_encoder_only_folder_is_refused(tmp_path, capsys):
    from transformers import SegformerConfig, SegformerModel

    config = SegformerConfig(hidden_sizes=[8, 16, 40, 64], depths=[1, 1, 1, 1], decoder_hidden_size=16)
    SegformerModel(config).save_pretrained(tmp_path / "mit", safe_serialization=True)
    capsys.readouterr()
    rc = import_checkpoint.main(["--from", "hf-segformer", str(tmp_path / "mit"),
                                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "missing keys" in err
    assert not (tmp_path / "o").exists()


def test_torchvision_deeplabv3_logits_equal_the_source(tmp_path, capsys):
    torch.manual_seed(2)
    source = DeepLabV3(num_classes=21, backbone="resnet50", base_width=4, aspp_channels=8).eval()
    randomise_batchnorm(source, 3)
    state = dict(source.state_dict())
    state["aux_classifier.0.weight"] = torch.randn(4, 64, 3, 3)   # torchvision's FCN head: dropped
    pth = str(tmp_path / "deeplabv3_resnet50_tiny.pth")
    torch.save(state, pth)

    out = tmp_path / "imported"
    assert import_checkpoint.main(["--from", "torchvision-deeplabv3", pth, "--out", str(out),
                                   "--input-size", "32x48"]) == 0, capsys.readouterr().err
    model, meta, exported = reloaded(out)
    assert meta["num_classes"] == 21 and meta["class_names"] == [f"class_{i}" for i in range(21)]
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        reference = source(x)
        torch.testing.assert_close(model(x), reference, rtol=0, atol=1e-6)
        torch.testing.assert_close(exported(x), reference, rtol=0, atol=1e-6)
    # A second import into the same place is refused unless asked for.
    assert import_checkpoint.main(["--from", "torchvision-deeplabv3", pth, "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
