"""DeepLabV3: torchvision key layout, checkpoint loading, forward contract, export."""

from __future__ import annotations

import logging

import pytest
import torch

from training.models.deeplabv3 import DeepLabV3


def _bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
            f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}


def torchvision_deeplabv3_resnet50_shapes(num_classes: int, aux: bool) -> dict[str, tuple[int, ...]]:
    """Key -> shape of torchvision's deeplabv3_resnet50 state dict, written out from its
    definition (resnet.py Bottleneck/_make_layer, deeplabv3.py DeepLabHead/ASPP, fcn.py FCNHead),
    independently of the model under test."""
    shapes: dict[str, tuple[int, ...]] = {"backbone.conv1.weight": (64, 3, 7, 7), **_bn("backbone.bn1", 64)}
    inplanes = 64
    # (layer, planes, blocks) of ResNet-50: every first block has a downsample (stride or width change).
    for layer, planes, blocks in ((1, 64, 3), (2, 128, 4), (3, 256, 6), (4, 512, 3)):
        for b in range(blocks):
            p = f"backbone.layer{layer}.{b}"
            cin = inplanes if b == 0 else planes * 4
            shapes[f"{p}.conv1.weight"] = (planes, cin, 1, 1)
            shapes.update(_bn(f"{p}.bn1", planes))
            shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
            shapes.update(_bn(f"{p}.bn2", planes))
            shapes[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
            shapes.update(_bn(f"{p}.bn3", planes * 4))
            if b == 0:
                shapes[f"{p}.downsample.0.weight"] = (planes * 4, inplanes, 1, 1)
                shapes.update(_bn(f"{p}.downsample.1", planes * 4))
        inplanes = planes * 4
    a = "classifier.0"
    shapes[f"{a}.convs.0.0.weight"] = (256, 2048, 1, 1)
    shapes.update(_bn(f"{a}.convs.0.1", 256))
    for i in (1, 2, 3):
        shapes[f"{a}.convs.{i}.0.weight"] = (256, 2048, 3, 3)
        shapes.update(_bn(f"{a}.convs.{i}.1", 256))
    shapes[f"{a}.convs.4.1.weight"] = (256, 2048, 1, 1)  # index 0 is the AdaptiveAvgPool2d
    shapes.update(_bn(f"{a}.convs.4.2", 256))
    shapes[f"{a}.project.0.weight"] = (256, 1280, 1, 1)
    shapes.update(_bn(f"{a}.project.1", 256))
    shapes["classifier.1.weight"] = (256, 256, 3, 3)
    shapes.update(_bn("classifier.2", 256))
    shapes["classifier.4.weight"] = (num_classes, 256, 1, 1)
    shapes["classifier.4.bias"] = (num_classes,)
    if aux:
        shapes["aux_classifier.0.weight"] = (256, 1024, 3, 3)
        shapes.update(_bn("aux_classifier.1", 256))
        shapes["aux_classifier.4.weight"] = (num_classes, 256, 1, 1)
        shapes["aux_classifier.4.bias"] = (num_classes,)
    return shapes


def _random_state(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {k: (torch.tensor(7) if k.endswith("num_batches_tracked") else torch.randn(s, generator=g))
            for k, s in shapes.items()}


def test_state_dict_matches_torchvision_layout():
    model = DeepLabV3(num_classes=21, backbone="resnet50", output_stride=8)
    ref = torchvision_deeplabv3_resnet50_shapes(21, aux=False)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(ref) - set(ours)) == []
    assert sorted(set(ours) - set(ref)) == []
    assert ours == ref


def test_init_from_torchvision_file_same_and_other_class_count(tmp_path, caplog):
    state = _random_state(torchvision_deeplabv3_resnet50_shapes(21, aux=True))
    path = tmp_path / "deeplabv3_resnet50.pth"
    torch.save(state, path)

    same = DeepLabV3(num_classes=21, init_from=str(path)).state_dict()
    for key in ("backbone.layer3.5.conv2.weight", "classifier.0.convs.4.1.weight", "classifier.4.bias"):
        assert torch.equal(same[key], state[key])

    with caplog.at_level(logging.INFO, logger="training.models.deeplabv3"):
        other = DeepLabV3(num_classes=19, init_from=str(path)).state_dict()
    assert torch.equal(other["backbone.layer4.2.bn3.running_var"], state["backbone.layer4.2.bn3.running_var"])
    assert torch.equal(other["classifier.1.weight"], state["classifier.1.weight"])
    assert other["classifier.4.weight"].shape == (19, 256, 1, 1)
    assert "classifier.4.weight" in caplog.text and "aux_classifier" in caplog.text


def test_init_from_rejects_other_architecture(tmp_path):
    state = _random_state(torchvision_deeplabv3_resnet50_shapes(21, aux=False))
    path = tmp_path / "r50.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match="backbone"):
        DeepLabV3(num_classes=21, backbone="resnet101", init_from=str(path))


@pytest.mark.parametrize("output_stride", [8, 16])
def test_forward_contract_and_output_stride(output_stride):
    torch.manual_seed(0)
    model = DeepLabV3(num_classes=5, output_stride=output_stride, base_width=8, aspp_channels=16).eval()
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        feats, aux = model.backbone(x)
        logits = model(x)
    assert feats.shape == (2, 256, 64 // output_stride, 80 // output_stride)
    assert aux.shape[-2:] == ((8, 10) if output_stride == 8 else (4, 5))
    assert logits.shape == (2, 5, 64, 80)


def test_torch_export_matches_eager():
    model = DeepLabV3(num_classes=3, base_width=8, aspp_channels=16).eval()
    x = torch.randn(1, 3, 64, 64)
    program = torch.export.export(model, (x,))
    torch.testing.assert_close(program.module()(x), model(x))
