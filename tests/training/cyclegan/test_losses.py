"""CycleGAN losses against hand-computed values, the lr schedule, and the image pool."""

from __future__ import annotations

import pytest
import torch

from training.cyclegan.config import LossConfig
from training.cyclegan.losses import discriminator_losses, generator_losses, lr_factor
from training.cyclegan.pool import ImagePool


def full(value: float, shape: tuple[int, ...] = (2, 3, 4, 4)) -> torch.Tensor:
    return torch.full(shape, value)


def images() -> dict[str, torch.Tensor]:
    return {"day": full(0.5), "night": full(0.2), "fake_night": full(0.3), "fake_day": full(0.6),
            "rec_day": full(0.75), "rec_night": full(0.2), "idt_night": full(0.3), "idt_day": full(0.5)}


def test_generator_losses_by_hand():
    # LSGAN G terms: (0.5 - 1)^2 = 0.25 and (1 - 1)^2 = 0.
    # cycle on the [-1, 1] scale: 10 * (2 * |0.75 - 0.5| + 2 * |0.2 - 0.2|) = 5.
    # identity: 10 * 0.5 * (2 * |0.3 - 0.2| + 2 * |0.5 - 0.5|) = 1.
    g = generator_losses(images(), d_day_fake=full(1.0, (2, 1, 2, 2)), d_night_fake=full(0.5, (2, 1, 2, 2)),
                         cfg=LossConfig())
    assert g["adv_g"].item() == pytest.approx(0.25)
    assert g["adv_f"].item() == pytest.approx(0.0)
    assert g["cycle"].item() == pytest.approx(5.0)
    assert g["identity"].item() == pytest.approx(1.0)
    assert g["total"].item() == pytest.approx(6.25)


def test_identity_switch_and_weights():
    off = generator_losses(images(), d_day_fake=full(1.0, (1, 1, 2, 2)), d_night_fake=full(1.0, (1, 1, 2, 2)),
                           cfg=LossConfig(identity=0.0, cycle=2.0))
    assert "identity" not in off
    assert off["total"].item() == pytest.approx(2.0 * 0.5)   # only the cycle term: 2 * (0.5 + 0)


def test_discriminator_losses_by_hand():
    # D_day: 0.5 * ((1 - 1)^2 + 0.5^2) = 0.125; D_night: 0.5 * ((0 - 1)^2 + 1^2) = 1.
    d = discriminator_losses("lsgan", day_real=full(1.0, (2, 1, 3, 3)), day_fake=full(0.5, (2, 1, 3, 3)),
                             night_real=full(0.0, (2, 1, 3, 3)), night_fake=full(1.0, (2, 1, 3, 3)))
    assert d["d_day"].item() == pytest.approx(0.125)
    assert d["d_night"].item() == pytest.approx(1.0)
    assert d["total"].item() == pytest.approx(1.125)


def test_lr_constant_then_linear_to_near_zero():
    factors = [lr_factor(s, 10, 0.5) for s in range(10)]
    assert factors[:5] == [1.0] * 5
    assert factors[5:] == pytest.approx([5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])


def test_pool_fills_then_mixes_history():
    pool = ImagePool(3, seed=0)
    first = torch.arange(3, dtype=torch.float32).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)           # filling: the new images themselves
    seen_old = seen_new = 0
    history = {0.0, 1.0, 2.0}
    for k in range(3, 203):
        new = torch.tensor([[[[float(k)]]]])
        out = float(pool.query(new))
        if out == k:
            seen_new += 1
        else:
            assert out in history                           # an image generated earlier ...
            history.discard(out)                            # ... handed out once, replaced by the new one
            history.add(float(k))
            seen_old += 1
        assert {float(im) for im in pool.images} == history
    assert 70 < seen_old < 130 and seen_old + seen_new == 200   # p = 1/2 each


def test_pool_state_round_trip_continues_the_same_sequence():
    a = ImagePool(2, seed=5)
    for k in range(4):
        a.query(torch.full((1, 1, 1, 1), float(k)))
    b = ImagePool(2, seed=99)
    b.load_state_dict(a.state_dict())
    for k in range(4, 20):
        x = torch.full((1, 1, 1, 1), float(k))
        assert torch.equal(a.query(x), b.query(x))


def test_pool_size_zero_passes_through():
    x = torch.rand(2, 3, 4, 4)
    assert torch.equal(ImagePool(0).query(x), x)
