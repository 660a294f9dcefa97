"""DSANet Python API and rain-code bank."""

import hashlib

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from training.dsanet.api import DSANet
from training.dsanet.bank import build_rain_bank, load_rain_bank, save_rain_bank
from training.engine.checkpoint import CheckpointError

from .dsanet_helpers import LookupEncoder, LookupGenerator, const_images, tiny_checkpoint, write_png


def _mock():
    return DSANet(LookupEncoder(), LookupGenerator())


def test_rainify_interpolates_own_and_reference_rain_codes():
    clean = const_images([(0.3, 0.1), (0.5, 0.2)], size=8)
    ref = const_images([(0.9, 0.6)], size=24)[:, :, :, :16]   # other size: codes get resized
    out = _mock().rainify(clean, ref, intensity=torch.tensor([0.25, 1.0]))
    assert out.shape == clean.shape
    assert torch.allclose(out[:, 0], clean[:, 0])                       # background kept
    assert torch.allclose(out[0, 1], torch.full((8, 8), 0.75 * 0.1 + 0.25 * 0.6))
    assert torch.allclose(out[1, 1], torch.full((8, 8), 0.6))
    same = _mock().rainify(clean, ref, intensity=0.0)
    assert torch.allclose(same, clean)


def test_zeros_clean_code_interpolates_from_zero():
    # a model trained with derain_code=zero decodes clean images with the zero code: t = 0 is derain
    net = DSANet(LookupEncoder(), LookupGenerator(), clean_rain_code="zeros")
    clean = const_images([(0.3, 0.1), (0.3, 0.1)], size=8)
    ref = const_images([(0.9, 0.6)], size=8)
    out = net.rainify(clean, ref, intensity=torch.tensor([0.0, 0.25]))
    assert torch.allclose(out[0], net.derain(clean)[0])
    assert torch.allclose(out[1, 1], torch.full((8, 8), 0.25 * 0.6))
    with pytest.raises(ValueError, match="clean_rain_code"):
        DSANet(LookupEncoder(), LookupGenerator(), clean_rain_code="mean")


def test_derain_uses_the_zero_rain_code():
    rainy = const_images([(0.4, 0.9)], size=8)
    out = _mock().derain(rainy)
    assert torch.allclose(out[0, 0], torch.full((8, 8), 0.4)) and float(out[0, 1].abs().max()) == 0.0


def test_intensity_outside_unit_interval_rejected():
    with pytest.raises(ValueError, match="intensity"):
        _mock().rainify(const_images([(0.1, 0.1)]), const_images([(0.1, 0.1)]), intensity=1.5)


@pytest.mark.parametrize("stride,code_size", [(4, (8, 9)), (2, (15, 17))])
def test_checkpoint_round_trip_and_odd_sizes(tmp_path, stride, code_size):
    tiny_checkpoint(tmp_path / "ck", downsample=stride)
    net = DSANet.from_checkpoint(tmp_path / "ck")
    assert net.code_channels == 8 and net.downsample == stride
    x = torch.rand(2, 3, 30, 34)
    for out in (net.derain(x), net.rainify(x, torch.rand(1, 3, 20, 20), 0.5)):
        assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    b, r = net.encode(x)
    assert b.shape == r.shape == (2, 4, *code_size)   # ceil(30/s), ceil(34/s)


@pytest.mark.parametrize("clean_code", ["zeros", "own"])
def test_residual_rainify_is_the_input_plus_the_rain_codes_change(tmp_path, clean_code):
    """rainify_output "residual" (checkpoint metadata): x + G(b ⊕ rain) − G(b ⊕ r_0), checked against
    the decoded mode's own outputs at t and at 0 (G ends in a sigmoid, so its clamp changes nothing)."""
    tiny_checkpoint(tmp_path / "ck", downsample=2, meta={"rainify_output": "residual",
                                                         "clean_rain_code": clean_code})
    net = DSANet.from_checkpoint(tmp_path / "ck")
    decoded = DSANet.from_checkpoint(tmp_path / "ck", rainify_output="decoded")
    assert (net.rainify_output, decoded.rainify_output) == ("residual", "decoded")
    torch.manual_seed(1)
    x, ref = torch.rand(2, 3, 30, 34), torch.rand(1, 3, 20, 20)     # odd sizes: padded and cropped
    t = torch.tensor([0.5, 1.0])
    expected = (x + decoded.rainify(x, ref, t) - decoded.rainify(x, ref, 0.0)).clamp(0, 1)
    torch.testing.assert_close(net.rainify(x, ref, t), expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(net.rainify(x, ref, 0.0), x, rtol=0, atol=1e-6)   # t = 0: the input
    torch.testing.assert_close(net.derain(x), decoded.derain(x), rtol=0, atol=0)  # derain unchanged
    with pytest.raises(ValueError, match="rainify_output"):
        DSANet(LookupEncoder(), LookupGenerator(), rainify_output="blend")


def test_non_dsanet_checkpoint_rejected(tmp_path):
    tiny_checkpoint(tmp_path / "seg", task="segmentation")
    with pytest.raises(CheckpointError, match="not a DSANet"):
        DSANet.from_checkpoint(tmp_path / "seg")


def test_rain_bank_build_save_load(tmp_path):
    step_dir = tiny_checkpoint(tmp_path / "ck")
    net = DSANet.from_checkpoint(tmp_path / "ck")
    refs = []
    for i, size in enumerate([(16, 24), (20, 20), (32, 28)]):
        refs.append(tmp_path / "refs" / f"rain-{i}.png")
        write_png(refs[-1], np.random.default_rng(i).integers(0, 256, (*size, 3)))
    codes, sources = build_rain_bank(net, refs, k=2, seed=3, progress=False)
    assert len(sources) == 2 and set(sources) <= {str(p) for p in refs}
    first_size = {str(refs[0]): (4, 6), str(refs[1]): (5, 5), str(refs[2]): (8, 7)}[sources[0]]
    assert codes.shape == (2, 4, *first_size)
    bank = save_rain_bank(tmp_path / "bank.safetensors", codes, sources, net)
    loaded, meta = load_rain_bank(bank)
    assert torch.equal(loaded, codes)
    assert meta["sources"] == sources and meta["code_channels"] == 8 and meta["code_size"] == list(first_size)
    weights = step_dir / "model.safetensors"
    assert meta["checkpoint_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    # the same seed picks the same references
    assert build_rain_bank(net, refs, k=2, seed=3, progress=False)[1] == sources


def test_foreign_safetensors_is_not_a_bank(tmp_path):
    save_file({"x": torch.zeros(1)}, str(tmp_path / "x.safetensors"), metadata={"format": "other"})
    with pytest.raises(ValueError, match="not a rain-code bank"):
        load_rain_bank(tmp_path / "x.safetensors")
