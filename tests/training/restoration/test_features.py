"""VGG19 `features` built here against torchvision's published layout, loaded from a
torchvision-layout state dict; the segmenter fallback's feature maps."""

from __future__ import annotations

import torch

from training.restoration.features import build_feature_net, load_vgg19, vgg19_features

# torchvision vgg19: the conv layers of `features` sit at these indices (the keys of
# vgg19-dcbb9e9d.pth); relu1_1..relu5_1 follow convs 0, 5, 10, 19 and 28.
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28)


def test_layout_matches_torchvision_indices():
    keys = set(vgg19_features().state_dict())
    assert keys == {f"{i}.{p}" for i in TORCHVISION_CONV_INDICES for p in ("weight", "bias")}


def test_loads_a_torchvision_layout_file_and_returns_five_taps(tmp_path):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in vgg19_features().state_dict().items()}
    state["features.30.weight"] = torch.zeros(512, 512, 3, 3)      # later layers are not needed
    state["classifier.6.weight"] = torch.zeros(10, 4)              # nor the classifier
    path = tmp_path / "vgg19-local.pth"
    torch.save(state, path)
    net = load_vgg19(path)
    assert torch.equal(net.features[28].weight, state["features.28.weight"])
    taps = net(torch.rand(1, 3, 32, 32))
    assert [t.shape[1] for t in taps] == [64, 128, 256, 512, 512]
    assert [t.shape[-1] for t in taps] == [32, 16, 8, 4, 2]
    frozen = build_feature_net(vgg19=str(path), segmenter="", device="cpu")
    assert not any(p.requires_grad for p in frozen.parameters())


def test_segmenter_fallback_gives_its_block_outputs(segmenter_ckpt, caplog):
    net = build_feature_net(vgg19="", segmenter=str(segmenter_ckpt), device="cpu")
    taps = net(torch.rand(2, 3, 32, 64))
    assert len(taps) >= 2 and all(t.dim() == 4 and t.shape[0] == 2 for t in taps)
    assert "NOT comparable" in caplog.text
    # Frozen as a perceptual-loss network must be: eval mode everywhere (BatchNorm running
    # stats, no dropout) and no trainable parameter, so only the restorer can move.
    assert not any(m.training for m in net.modules())
    assert not any(p.requires_grad for p in net.parameters())
