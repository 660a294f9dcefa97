"""ERF-PSPNet: ERFNet structure, forward contract, ONNX (dynamo) export parity."""

from __future__ import annotations

import numpy as np
import torch

from training.models.erf_pspnet import ERFPSPNet, NonBottleneck1d


def test_erfnet_encoder_structure():
    model = ERFPSPNet(num_classes=19)
    blocks = [m for m in model.encoder.layers if isinstance(m, NonBottleneck1d)]
    # ERFNet: 5 blocks at 64 channels (dilation 1), then 2 x (2, 4, 8, 16) at 128.
    assert [b.conv3x1_2.dilation[0] for b in blocks] == [1] * 5 + [2, 4, 8, 16] * 2
    assert [b.conv3x1_1.in_channels for b in blocks] == [64] * 5 + [128] * 8
    # Pyramid pooling: bins 1, 2, 3, 6 each reduced to 128 / 4 channels, concatenated with the input.
    assert model.ppm.out_channels == 128 + 4 * 32


def test_forward_contract():
    model = ERFPSPNet(num_classes=7, channels=(8, 16, 32), head_channels=16).eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        assert model.encoder(x).shape == (2, 32, 8, 12)
        assert model(x).shape == (2, 7, 64, 96)


def test_onnx_dynamo_export_matches_eager(tmp_path):
    import onnxruntime as ort

    model = ERFPSPNet(num_classes=4, channels=(8, 16, 32), head_channels=16).eval()
    x = torch.randn(1, 3, 64, 96)
    torch.onnx.export(model, (x,), dynamo=True).save(str(tmp_path / "m.onnx"))
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=1e-4)
