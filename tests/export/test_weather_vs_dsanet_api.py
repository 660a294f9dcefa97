"""The runtime's WeatherModel on an exported real DSANet agrees with training's DSANet API.

Independent reference: training.dsanet.api.DSANet (PyTorch, its own derain/rainify code) on
the same checkpoint and bank; the runtime uses the exported one-graph ONNX (encoder, code swap
and generator in the graph) and the bank copied by the exporter. Frames are at the export size,
so no resize separates the two.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from export.__main__ import main as export_main
from training.engine.checkpoint import ModuleSpec, save_checkpoint

pytestmark = pytest.mark.skipif(importlib.util.find_spec("training.dsanet.api") is None,
                                reason="training.dsanet is not on this branch")
H, W = 32, 64


@pytest.fixture(scope="module", params=["own", "zeros"])
def real_dsanet(tmp_path_factory, request):
    from training.dsanet.api import DSANet
    from training.dsanet.bank import save_rain_bank
    from training.models import build_model

    torch.manual_seed(0)
    config = {"code_channels": 8, "base_channels": 8, "num_res_blocks": 1}
    enc, gen = build_model("dsanet_encoder", config), build_model("dsanet_generator", config)
    run = tmp_path_factory.mktemp("dsanet_run")
    save_checkpoint(run / "checkpoints", 1, {"encoder": (ModuleSpec("dsanet_encoder", config), enc),
                                             "generator": (ModuleSpec("dsanet_generator", config), gen)},
                    extra_meta={"task": "dsanet", "code_channels": 8, "no_rain_code": "zeros",
                                "clean_rain_code": request.param, "crop": [H, W]})
    net = DSANet.from_checkpoint(run)
    assert net.clean_rain_code == request.param
    refs = torch.rand(3, 3, H, W, generator=torch.Generator().manual_seed(1))
    codes = net.rain_codes(refs)                                      # (3, 4, H/4, W/4)
    save_rain_bank(run / "rain_bank.safetensors", codes, ["a", "b", "c"], net)
    out = tmp_path_factory.mktemp("dsanet_out")
    assert export_main(["onnx", "--checkpoint", str(run), "--out", str(out / "dsa.onnx")]) == 0
    return net, codes, out


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    return np.rint(image[0].permute(1, 2, 0).numpy() * 255.0).clip(0, 255).astype(np.uint8)


def test_derain_and_rainify_match_the_training_api(real_dsanet):
    from rain_seg_ros.weather import WeatherModel

    net, codes, out = real_dsanet
    rgb = np.random.default_rng(2).integers(0, 256, (H, W, 3), dtype=np.uint8)
    with WeatherModel(out / "dsa.onnx", backend="onnxruntime", device="cpu") as weather:
        assert weather.generator is None                              # one graph, one backend call
        derained = weather.derain(rgb)
        rainy = weather.rainify(rgb, intensity=0.7, style=2)
    expected_derain = _to_uint8(net.derain(_to_tensor(rgb)))
    expected_rainy = _to_uint8(net.rainify_with_codes(_to_tensor(rgb), codes[2:3], 0.7))
    assert np.abs(derained.astype(int) - expected_derain).max() <= 1
    assert np.abs(rainy.astype(int) - expected_rainy).max() <= 1
    assert np.abs(rainy.astype(int) - derained).max() > 0
