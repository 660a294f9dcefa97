"""Derain or rainify RGB frames with an exported DSANet (one graph or encoder + generator, + rain-code bank).

DSANet's encoder E splits an image into a background code b (first C/2 channels) and a rain
code r (last C/2); the generator G renders b ⊕ r. Training pins the rain code of clean
images to zero ("no_rain_code": "zeros" in the sidecar), so:
    derain(x)                  = G(b ⊕ 0)
    rainify(x, t, style=k)     = G(b ⊕ ((1 - t)·r_0 + t·bank[k]))
with r_0 the code clean images were decoded with in training (sidecar "clean_rain_code": the
input's own rain code, "own", or "zeros"; t = 0 reproduces a clean input) and bank[k] the k-th code
of the bank made by `python -m training rainify`, resized once to the model's code size.
Frames are resized to the exported size and the result back to the frame size (bilinear).

Exports since issue 13 are one graph (task "dsanet", contract "image_u8"): uint8 image, rain
code and intensity in, uint8 image out, so the features never leave the device; derain is the
same graph with a zero code at t = 1 ((1 - 1)·r_0 + 1·0 = 0). Older exports are two graphs,
`<stem>_encoder` and `<stem>_generator`, with the code swap done here on the host.

Example:
    with WeatherModel("artifacts/dsanet.onnx") as weather:            # finds the bank
        clean = weather.derain(rgb)                                  # (H, W, 3) uint8
        rainy = weather.rainify(rgb, intensity=0.7, style=3)
        weather.num_styles                                           # K
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from safetensors import safe_open

from rain_seg_ros.artifact import ArtifactError, load_artifact
from rain_seg_ros.backends import open_backend
from rain_seg_ros.postprocess import crop_and_resize, images_from_output
from rain_seg_ros.preprocess import preprocess, preprocess_u8

BANK_FORMAT = "rain_seg_ros.rain_bank/1"


def load_rain_bank(path: str | Path, code_hw: tuple[int, int]) -> np.ndarray:
    """Rain codes (K, C/2, h, w) float32 of a bank, resized (bilinear) to code_hw when needed."""
    with safe_open(str(path), framework="numpy") as f:
        if (f.metadata() or {}).get("format") != BANK_FORMAT:
            raise ArtifactError(f"{path} is not a rain-code bank (format {BANK_FORMAT})")
        codes = np.asarray(f.get_tensor("rain_codes"), dtype=np.float32)
    if codes.ndim != 4 or codes.shape[0] < 1:
        raise ArtifactError(f"{path}: rain_codes must be (K, C/2, h, w), got {codes.shape}")
    h, w = code_hw
    if codes.shape[-2:] != (h, w):
        # cv2 resizes (h, w, channels) images; half-pixel centres like torch's bilinear, align_corners=False
        codes = np.stack([cv2.resize(c.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
                          .reshape(h, w, -1).transpose(2, 0, 1) for c in codes])
    return np.ascontiguousarray(codes)


class WeatherModel:
    """An exported DSANet: open from its one-graph file (or an older encoder file, which finds its
    generator); the rain-code bank is found from its sidecar.

    Args:
        model_path: `<stem>.onnx|.pt2|.engine` (one graph) or `<stem>_encoder.…` (older two-file
            export), written by `python -m export onnx|pt2`.
        backend, device, engine_cache_dir: as for rain_seg_ros.backends.open_backend.

    Attributes:
        encoder: the runner of the one graph (or of the older encoder); generator: the older
            export's generator runner, else None.
    """

    def __init__(self, model_path: str | Path, backend: str = "auto", device: str = "auto",
                 engine_cache_dir: str | Path | None = None, trust_pt2: bool = False) -> None:
        model_path = Path(model_path)
        artifact = load_artifact(model_path)
        if artifact.task not in ("dsanet", "dsanet_encoder"):
            raise ArtifactError(f"{model_path} is a {artifact.task!r} model; WeatherModel opens a DSANet "
                                f"export: <stem>.onnx, or the DSANet encoder <stem>_encoder.onnx (older)")
        if artifact.task == "dsanet" and artifact.contract != "image_u8":
            raise ArtifactError(f"{model_path}: DSANet contract {artifact.contract!r} is not supported")
        if artifact.extra.get("no_rain_code", "zeros") != "zeros":
            raise ArtifactError(f"unsupported no-rain code {artifact.extra['no_rain_code']!r}")
        clean_code = artifact.extra.get("clean_rain_code", "own")   # rainify's t = 0 code
        if clean_code not in ("own", "zeros"):
            raise ArtifactError(f"unsupported clean_rain_code {clean_code!r}")
        self._own_code = clean_code == "own"
        self._one_graph = artifact.task == "dsanet"
        generator_path = (None if self._one_graph
                          else model_path.with_name(artifact.extra["generator"] + model_path.suffix))
        bank_path = model_path.with_name(artifact.extra["rain_bank"])
        for path in (generator_path, bank_path):
            if path is not None and not path.is_file():
                raise ArtifactError(f"{path} (named by {model_path.name}'s sidecar) is missing")
        self.artifact = artifact
        self.encoder = open_backend(model_path, backend, device, engine_cache_dir, trust_pt2=trust_pt2)
        self.generator = None
        if generator_path is not None:
            try:
                self.generator = open_backend(generator_path, backend, device, engine_cache_dir,
                                              trust_pt2=trust_pt2)
            except Exception:
                self.encoder.close()
                raise
        # the rain code's (C/2, h, w): an input of the one graph, the second half of the encoder's output
        if self._one_graph:
            half, h, w = (int(d) for d in artifact.inputs[1].shape[1:])
        else:
            c, h, w = (int(d) for d in artifact.output.shape[1:])   # feature (B, C, h, w)
            half = c // 2
        self._half = half
        self.rain_codes = load_rain_bank(bank_path, (h, w))     # (K, C/2, h, w)
        if self.rain_codes.shape[1] != self._half:
            self.close()
            raise ArtifactError(f"bank codes have {self.rain_codes.shape[1]} channels, "
                                f"the model {self._half}")
        self._zero_code = np.zeros((1, half, h, w), np.float32)

    @property
    def num_styles(self) -> int:
        return int(self.rain_codes.shape[0])

    def _swap_in_graph(self, rgb: np.ndarray, intensity: float, style: int | None) -> np.ndarray:
        batch, frames = preprocess_u8([rgb], self.artifact)      # (1, H, W, 3) uint8
        # derain: zero code at t = 1 removes the rain whatever the clean-code rule
        code = self._zero_code if style is None else self.rain_codes[style][None]
        t = np.array([1.0 if style is None else intensity], np.float32)
        (image,) = self.encoder.run([batch, code, t])            # (1, H, W, 3) uint8
        return crop_and_resize(image[0], frames[0], cv2.INTER_LINEAR)

    def _swap_rain(self, rgb: np.ndarray, intensity: float, style: int | None) -> np.ndarray:
        if self._one_graph:
            return self._swap_in_graph(rgb, intensity, style)
        assert self.generator is not None
        batch, frames = preprocess([rgb], self.artifact)         # (1, 3, H, W) in [0, 1]
        feature = self.encoder.infer(batch)                      # (1, C, h, w)
        rain = feature[:, self._half:]
        if style is None or not self._own_code:
            rain[:] = 0.0                                        # the no-rain / clean code
        else:
            rain *= 1.0 - intensity
        if style is not None:
            rain += intensity * self.rain_codes[style]
        image = self.generator.infer(feature)                    # (1, 3, H, W) in [0, 1]
        return images_from_output(image, frames)[0]

    def derain(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> the same frame with the rain removed."""
        return self._swap_rain(rgb, 0.0, None)

    def rainify(self, rgb: np.ndarray, intensity: float = 1.0, style: int = 0) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> the frame with rain style `style` at `intensity` in [0, 1]."""
        if not 0.0 <= intensity <= 1.0:
            raise ValueError(f"intensity must be in [0, 1], got {intensity}")
        if not 0 <= style < self.num_styles:
            raise ValueError(f"style must be in [0, {self.num_styles - 1}], got {style}")
        return self._swap_rain(rgb, float(intensity), style)

    def close(self) -> None:
        self.encoder.close()
        if self.generator is not None:
            self.generator.close()

    def __enter__(self) -> WeatherModel:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
