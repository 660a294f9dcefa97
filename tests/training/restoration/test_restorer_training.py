"""The mask restorer's training: the SPADE generator stays frozen while gradients reach the
mask generator; each loss switch; exact resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.training.restoration.conftest import TINY
from training.engine import checkpoint as ckpt
from training.engine.config import resolve_config
from training.restoration import restorer_trainer
from training.restoration.config import MaskRestorerConfig
from training.restoration.frozen import load_frozen_spade
from training.restoration.losses import restorer_losses


def _cfg(tmp_path, scenes, *extra: str) -> MaskRestorerConfig:
    return resolve_config(MaskRestorerConfig, None, [
        *TINY, f"out_dir={tmp_path / 'run'}", f"data.root={scenes}", "steps=3", "save_every=2", *extra])


def test_frozen_generator_is_bit_identical_after_restorer_steps(tmp_path, scenes, spade_ckpt, monkeypatch):
    seen = {}

    def spy(path, device):
        gen, meta = load_frozen_spade(path, device)
        seen["gen"] = gen
        seen["before"] = {k: v.clone() for k, v in gen.state_dict().items()}   # incl. spectral-norm u, v
        return gen, meta

    monkeypatch.setattr(restorer_trainer, "load_frozen_spade", spy)
    cfg = _cfg(tmp_path, scenes, f"spade={spade_ckpt}", "loss.vgg=0", "loss.ce=0", "loss.l1=1")
    last = restorer_trainer.train_restorer(cfg)
    after = seen["gen"].state_dict()
    assert seen["before"].keys() == after.keys()
    assert all(torch.equal(seen["before"][k], after[k]) for k in after)
    assert all(p.grad is None for p in seen["gen"].parameters())
    # With only the image term on, the mask generator still learned between steps 2 and 3:
    # its gradients came back through the frozen generator.
    at2 = ckpt.load_state_dicts(last.parent / "step_00000002")["mask_generator"]
    at3 = ckpt.load_state_dicts(last)["mask_generator"]
    assert any(not torch.equal(at2[k], at3[k]) for k in at3 if k.endswith(("weight_orig", "weight")))


def test_gradient_reaches_the_mask_generator_only_through_the_image_loss(spade_ckpt):
    gen, _ = load_frozen_spade(spade_ckpt)
    logits = torch.randn(1, 34, 32, 64, requires_grad=True)
    real = torch.rand(1, 3, 32, 64)
    terms = restorer_losses(logits, torch.zeros(1, 32, 64, dtype=torch.long), gen(torch.softmax(logits, 1)),
                            real, ce=0.0, vgg=0.0, l1=1.0, ignore_index=None, feature_net=None)
    terms["total"].backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert all(p.grad is None for p in gen.parameters())


def test_each_loss_switch_against_an_independent_formula():
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(size=(2, 4, 3, 5)))
    fine = torch.from_numpy(rng.integers(0, 4, size=(2, 3, 5)))
    synth, real = torch.from_numpy(rng.random((2, 3, 3, 5))), torch.from_numpy(rng.random((2, 3, 3, 5)))
    x = logits.numpy()
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    ce_ref = -np.take_along_axis(logp, fine.numpy()[:, None], 1).mean()
    l1_ref = np.abs(synth.numpy() - real.numpy()).mean()

    class Halves(torch.nn.Module):   # a stand-in feature net: two "taps"
        def forward(self, im):
            return [im, F.avg_pool2d(im, (1, 5))]

    vgg_ref = l1_ref + np.abs(synth.numpy().mean(-1) - real.numpy().mean(-1)).mean()
    for ce, vgg, l1 in [(1, 0, 0), (1, 1, 0), (1, 0, 1), (1, 1, 1), (0, 0, 1), (2, 0.5, 3)]:
        t = restorer_losses(logits, fine, synth, real, ce=ce, vgg=vgg, l1=l1, ignore_index=None,
                            feature_net=Halves())
        assert float(t["total"]) == pytest.approx(ce * ce_ref + vgg * vgg_ref + l1 * l1_ref, rel=1e-5)
        assert (float(t["vgg"]) == 0) == (vgg == 0) and (float(t["l1"]) == 0) == (l1 == 0)


def test_ce_only_needs_no_generator_and_logs_zero_image_terms(tmp_path, scenes):
    restorer_trainer.train_restorer(_cfg(tmp_path, scenes, "loss.vgg=0", "loss.l1=0", "steps=1", "spade="))
    record = json.loads((tmp_path / "run" / "losses.jsonl").read_text().splitlines()[-1])
    assert record["ce"] > 0 and record["vgg"] == 0 and record["l1"] == 0


def test_vgg_switch_uses_the_segmenter_fallback(tmp_path, scenes, spade_ckpt, segmenter_ckpt, caplog):
    cfg = _cfg(tmp_path, scenes, f"spade={spade_ckpt}", f"perceptual.segmenter={segmenter_ckpt}",
               "loss.l1=0", "task=sr8", "steps=1")
    restorer_trainer.train_restorer(cfg)
    record = json.loads((tmp_path / "run" / "losses.jsonl").read_text().splitlines()[-1])
    assert record["vgg"] > 0 and record["l1"] == 0
    assert "NOT comparable" in caplog.text


def test_resume_continues_exactly(tmp_path, scenes, spade_ckpt):
    common = [f"spade={spade_ckpt}", "loss.vgg=0", "steps=4", "save_every=2", "task=sr8"]
    whole = restorer_trainer.train_restorer(_cfg(tmp_path / "a", scenes, *common))
    restorer_trainer.train_restorer(_cfg(tmp_path / "b", scenes, *common[:-3], "steps=2", "save_every=2",
                                         "task=sr8"))
    resumed = restorer_trainer.train_restorer(_cfg(tmp_path / "b", scenes, *common, "resume=true"))
    a, b = ckpt.load_state_dicts(whole)["mask_generator"], ckpt.load_state_dicts(resumed)["mask_generator"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = (tmp_path / "b" / "run" / "losses.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in log]
    assert steps == [1, 2, 3, 4]
