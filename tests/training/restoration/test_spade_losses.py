"""SPADE's loss terms against hand-written formulas, and the train-id label scheme."""

from __future__ import annotations

import json

import pytest
import torch

from tests.training.restoration.conftest import TINY
from training.__main__ import main as training_main
from training.restoration.labels import fine_one_hot, incomplete_one_hot
from training.restoration.losses import feature_matching, spade_d_loss, spade_g_losses


def _scales(*values):
    """Per scale: one feature map and the logits, constant tensors of the given values."""
    return [[torch.full((1, 2, 2, 2), f), torch.full((1, 1, 2, 2), logit)] for f, logit in values]


def test_feature_matching_skips_logits_and_averages_scales():
    fake, real = _scales((1.0, 5.0), (3.0, -5.0)), _scales((0.5, 0.0), (0.0, 0.0))
    assert float(feature_matching(fake, real)) == pytest.approx((0.5 + 3.0) / 2)


def test_hinge_terms():
    real, fake = _scales((0, 0.5), (0, 2.0)), _scales((0, -0.25), (0, 0.5))
    # D: mean over scales of relu(1 - real) + relu(1 + fake)
    assert float(spade_d_loss(real, fake)) == pytest.approx(((0.5 + 0.75) + (0.0 + 1.5)) / 2)
    g = spade_g_losses(fake, real, torch.zeros(1), torch.zeros(1), feat=2.0, vgg=0.0, feature_net=None)
    assert float(g["adv"]) == pytest.approx(-(-0.25 + 0.5) / 2)
    assert float(g["total"]) == pytest.approx(float(g["adv"]) + 2.0 * float(g["feat"]))


def test_one_hot_encodings():
    mask = torch.tensor([[[0, 2, 255]]])
    fine = fine_one_hot(mask, 3)
    assert fine[0, :, 0, 0].tolist() == [1, 0, 0] and fine[0, :, 0, 2].tolist() == [0, 0, 0]
    inc = incomplete_one_hot(mask, 3)
    assert inc.shape == (1, 4, 1, 3) and inc[0, :, 0, 2].tolist() == [0, 0, 0, 1]


def test_train_id_scheme_trains_and_refuses_a_label_id_spade(tmp_path, scenes, spade_ckpt, capsys):
    run = tmp_path / "t"
    base = ["train-mask-restorer", *TINY, f"data.root={scenes}", "labels=train_ids", "steps=1"]
    assert training_main([*base, f"out_dir={run}", "loss.vgg=0", "loss.l1=0"]) == 0
    record = json.loads((run / "losses.jsonl").read_text().splitlines()[-1])
    assert record["ce"] > 0
    capsys.readouterr()
    assert training_main(["evaluate-mask-restorer", "--restorer", str(run), "--data", str(scenes)]) == 2
    assert "trained without a SPADE generator (CE only); pass --spade RUN" in capsys.readouterr().err
    assert training_main([*base, f"out_dir={tmp_path / 'u'}", "loss.vgg=0", f"spade={spade_ckpt}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "was trained on label_ids" in err and "labels=train_ids" in err
