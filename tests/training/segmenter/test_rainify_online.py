"""On-the-fly DSANet rainify (frozen) and its End-to-End use in training."""

from __future__ import annotations

import pytest
import torch

from training.__main__ import main as training_main
from training.engine import checkpoint as ckpt
from training.segmenter.config import EndToEndConfig, RainifyConfig
from training.segmenter.rainify_online import OnlineRainifier

from .dsanet_fixture import write_tiny_dsanet


def test_rainify_matches_manual_dsanet_rule(tmp_path):
    run, bank = write_tiny_dsanet(tmp_path, bank_size=1)
    cfg = RainifyConfig(dsanet=str(run), rain_bank=str(bank), p=1.0, intensity=[0.6, 0.6])
    r = OnlineRainifier.from_config(cfg, EndToEndConfig(), torch.device("cpu"))
    images = torch.rand(2, 3, 32, 64)
    out = r(images)
    # Independent rule: G(b ⊕ ((1 - t) r_own + t r_bank)) from the raw E and G modules.
    mods = ckpt.load_modules(run, ["encoder", "generator"])
    feature = mods["encoder"](images)
    bank_code = r.codes[0:1].expand(2, -1, -1, -1)
    expected = mods["generator"](torch.cat([feature[:, :4], 0.4 * feature[:, 4:] + 0.6 * bank_code], 1))
    torch.testing.assert_close(out, expected.clamp(0, 1), atol=1e-5, rtol=1e-4)
    assert not any(p.requires_grad for p in r.module.parameters())

    never = OnlineRainifier(r.net, r.codes, p=0.0, intensity=(0.5, 1.0))
    assert torch.equal(never(images), images)


@pytest.mark.parametrize(("clean_rain_code", "output"), [("own", "residual"), ("zeros", "decoded"),
                                                        ("zeros", "residual")])
def test_end_to_end_follows_the_checkpoints_rule(tmp_path, clean_rain_code, output):
    """The differentiable End-to-End forward uses the checkpoint's clean code and output mode, as the
    frozen path (DSANet.rainify_with_codes) does; checked against the formula on the raw E and G."""
    run, bank = write_tiny_dsanet(tmp_path, bank_size=1, clean_rain_code=clean_rain_code,
                                  rainify_output=output)
    cfg = RainifyConfig(dsanet=str(run), rain_bank=str(bank), p=1.0, intensity=[0.6, 0.6])
    r = OnlineRainifier.from_config(cfg, EndToEndConfig(enabled=True, train="generator"), torch.device("cpu"))
    images = torch.rand(2, 3, 32, 64)
    mods = ckpt.load_modules(run, ["encoder", "generator"])
    feature = mods["encoder"](images)
    r_0 = feature[:, 4:] if clean_rain_code == "own" else torch.zeros_like(feature[:, 4:])
    bank_code = r.codes[0:1].expand(2, -1, -1, -1)
    decoded = mods["generator"](torch.cat([feature[:, :4], 0.4 * r_0 + 0.6 * bank_code], 1))
    expected = decoded if output == "decoded" else images + decoded - mods["generator"](
        torch.cat([feature[:, :4], r_0], 1))
    torch.testing.assert_close(r(images, train=True), expected.clamp(0, 1), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(r(images, train=False), expected.clamp(0, 1), atol=1e-5, rtol=1e-4)


def test_end_to_end_gradients_reach_dsanet(tmp_path):
    run, bank = write_tiny_dsanet(tmp_path)
    r = OnlineRainifier.from_config(RainifyConfig(dsanet=str(run), rain_bank=str(bank), p=1.0),
                                    EndToEndConfig(enabled=True, train="generator"), torch.device("cpu"))
    r(torch.rand(2, 3, 32, 64), train=True).mean().backward()
    assert all(p.grad is not None for p in r.net.generator.parameters())
    assert all(p.grad is None and not p.requires_grad for p in r.net.encoder.parameters())


def test_train_segmenter_end_to_end_updates_dsanet(tiny_cityscapes, tmp_path):
    run, bank = write_tiny_dsanet(tmp_path)
    out = tmp_path / "e2e"
    args = ["train-segmenter", f"out={out}", f"train=[{{root: {tiny_cityscapes}}}]",
            "augment.crop_size=[32, 64]", "augment.random_rain_p=0.5", "augment.physical_rain_p=0.5",
            "model.kind=erf_pspnet", "model.kwargs={channels: [8, 16, 32], head_channels: 16}",
            "batch_size=2", "num_workers=0", "steps=3", "log_every=1", "ckpt_every=3", "tensorboard=false",
            f"rainify.dsanet={run}", f"rainify.rain_bank={bank}", "rainify.p=1.0",
            "end_to_end.enabled=true", "end_to_end.lr=0.01"]
    assert training_main(args) == 0
    specs, meta, _ = ckpt.read_metadata(out)
    assert set(specs) == {"model", "encoder", "generator"} and meta["task"] == "segmentation"
    before = ckpt.load_state_dicts(run)["generator"]
    after = ckpt.load_state_dicts(out)["generator"]
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())
