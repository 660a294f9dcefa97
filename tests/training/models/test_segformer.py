"""SegFormer: official variant sizes, forward contract, init_from a local HF directory."""

from __future__ import annotations

import pytest
import torch

from training.models.segformer import SegFormer, segformer_config

TINY = {"hidden_sizes": [8, 16, 24, 32], "depths": [1, 1, 1, 1], "decoder_hidden_size": 16}


def test_official_variant_sizes():
    # MiT-B0..B5 of the SegFormer paper (Table 6) / nvidia/mit-b* configs.
    assert segformer_config("b0", 19).hidden_sizes == [32, 64, 160, 256]
    assert segformer_config("b2", 19).depths == [3, 4, 6, 3]
    assert segformer_config("b5", 19).depths == [3, 6, 40, 3]
    assert segformer_config("b5", 19).decoder_hidden_size == 768
    assert segformer_config("b1", 19).decoder_hidden_size == 256
    with pytest.raises(ValueError, match="variant"):
        segformer_config("b9", 19)


def test_forward_contract_and_export():
    model = SegFormer(variant="b0", num_classes=5, **TINY).eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, 5, 64, 96)
    program = torch.export.export(model, (x[:1],))
    torch.testing.assert_close(program.module()(x[:1]), model(x[:1]))


def test_init_from_local_hf_directory(tmp_path):
    from transformers import SegformerForSemanticSegmentation

    torch.manual_seed(1)
    saved = SegformerForSemanticSegmentation(segformer_config("b0", 5, **TINY))
    saved.save_pretrained(tmp_path / "ckpt")
    ref = saved.state_dict()

    same = SegFormer(variant="b0", num_classes=5, init_from=str(tmp_path / "ckpt"), **TINY)
    for key, value in ref.items():
        assert torch.equal(same.model.state_dict()[key], value), key

    other = SegFormer(variant="b0", num_classes=3, init_from=str(tmp_path / "ckpt"), **TINY)
    state = other.model.state_dict()
    assert state["decode_head.classifier.weight"].shape[0] == 3
    assert torch.equal(state["decode_head.linear_fuse.weight"], ref["decode_head.linear_fuse.weight"])

    with pytest.raises(ValueError, match="hidden_sizes"):
        SegFormer(variant="b0", num_classes=5, init_from=str(tmp_path / "ckpt"))
    with pytest.raises(FileNotFoundError):
        SegFormer(variant="b0", num_classes=5, init_from=str(tmp_path / "missing"))
