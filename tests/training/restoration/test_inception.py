"""The FID Inception built here: torchvision's published size, pytorch-fid's file layout."""

from __future__ import annotations

import pytest
import torch

from training.restoration.features import FeatureFileError
from training.restoration.inception import FIDInception, load_fid_inception

# torchvision's Inception_V3_Weights.IMAGENET1K_V1 lists num_params 27161264, with the
# auxiliary classifier (conv 768->128 1x1 + BN, conv 128->768 5x5 + BN, fc 768->1000) and the
# 1000-way fc (2048->1000); the FID network has neither.
TORCHVISION_PARAMS = 27_161_264
AUX = 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
FC = 2048 * 1000 + 1000


def test_parameter_count_matches_torchvision_without_aux_and_fc():
    net = FIDInception()
    assert sum(p.numel() for p in net.parameters()) == TORCHVISION_PARAMS - AUX - FC


def test_loads_pytorch_fid_layout_and_gives_2048_features(tmp_path):
    torch.manual_seed(0)
    state = FIDInception().state_dict()
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)   # 1008-way fc
    path = tmp_path / "pt_inception-local.pth"
    torch.save(state, path)
    net = load_fid_inception(path)
    assert torch.equal(net.Mixed_7c.branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])
    with torch.no_grad():
        assert net(torch.rand(1, 3, 32, 64)).shape == (1, 2048)
    del state["Mixed_6b.branch7x7_2.conv.weight"]
    torch.save(state, path)
    with pytest.raises(FeatureFileError, match="not pytorch-fid Inception weights"):
        load_fid_inception(path)
