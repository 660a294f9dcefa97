"""Will opening this model build a TensorRT engine first? (minutes: the node must not wait for it)

The TensorRT backend builds an engine from the ONNX when its cache has none for this GPU,
TensorRT version, precision and profile (backends/engine_cache.py). segmentation_node asks
`engine_build_needed` before opening the model: when it says yes, the node opens the model on
a background thread, reports "building engine" in /diagnostics and counts the frames it cannot
serve yet as not_ready, instead of blocking its start-up.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

log = logging.getLogger(__name__)

# What segmentation_node asks the TensorRT backend for (Segmenter precision "auto" = fp16 engines).
NODE_ENGINE_PRECISION = "fp16"


def engine_build_needed(model_path: str | Path, backend: str, device: str,
                        engine_cache_dir: str | Path | None, trust_pt2: bool = False) -> bool:
    """True when the backend chosen for this model is TensorRT and no valid engine is cached.

    Anything that stops the check (no TensorRT, no GPU, a bad path) answers False: the model
    is then opened in the foreground, where the same problem is reported in one line at start-up.
    """
    from rain_seg_ros.backends import check_model_path, choose_backend, tensorrt_build
    from rain_seg_ros.backends.engine_cache import BuildOptions, EngineCache, make_key, recorded_key

    try:
        path = check_model_path(model_path)
        if backend == "auto":
            backend, device, path, _ = choose_backend(path, device, trust_pt2)
        if backend != "tensorrt" or path.suffix not in (".onnx", ".engine"):
            return False
        environment = tensorrt_build.probe_environment(int(device.partition(":")[2] or 0))
        if path.suffix == ".engine":  # an exported engine is rebuilt only on another GPU/TensorRT
            key = recorded_key(path)
            return key is None or key.get("environment") != asdict(environment)
        key_now = make_key(path, BuildOptions(precision=NODE_ENGINE_PRECISION), environment)
        state, _ = EngineCache(engine_cache_dir).lookup(path, key_now)
        return state != "hit"
    except Exception as err:  # noqa: BLE001 - see the docstring: the foreground open reports it
        log.debug("engine build check gave up (%s); opening the model in the foreground", err)
        return False
