"""TensorRT engine cache without TensorRT: key contents, hit / miss / stale with a fake builder."""

from __future__ import annotations

import hashlib
import json

import pytest

from rain_seg_ros.artifact import load_artifact
from rain_seg_ros.backends.engine_cache import (
    BuildOptions,
    EngineCache,
    EngineKey,
    Environment,
    ShapeProfile,
    make_key,
    profile_for,
)

from .runtime_fixtures import seg_artifact, write_conv_onnx

ORIN = Environment("10.3.0", "Orin", "8.7")


class FakeBuilder:
    """Stands in for TensorRT: returns bytes naming what it was asked to build, counts calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, BuildOptions]] = []

    def __call__(self, onnx, options):
        self.calls.append((onnx.name, options))
        return f"engine:{onnx.name}:{options.precision}:{len(self.calls)}".encode()


@pytest.fixture()
def onnx_model(tmp_path):
    path = tmp_path / "seg.onnx"
    write_conv_onnx(path, seg_artifact(8, 16, 3))     # dynamic batch
    return path


def test_key_covers_every_fact_that_invalidates_an_engine(onnx_model):
    base = make_key(onnx_model, BuildOptions("fp16"), ORIN)
    assert base.onnx_sha256 == hashlib.sha256(onnx_model.read_bytes()).hexdigest()
    assert base.profile == ShapeProfile((1, 3, 8, 16), (1, 3, 8, 16), (8, 3, 8, 16))
    variants = [
        make_key(onnx_model, BuildOptions("fp32"), ORIN),
        make_key(onnx_model, BuildOptions("fp16"), Environment("10.4.0", "Orin", "8.7")),
        make_key(onnx_model, BuildOptions("fp16"), Environment("10.3.0", "RTX 4090", "8.7")),
        make_key(onnx_model, BuildOptions("fp16"), Environment("10.3.0", "Orin", "8.9")),
        make_key(onnx_model, BuildOptions("fp16", profile=ShapeProfile(*((1, 3, 8, 16),) * 3)), ORIN),
        make_key(onnx_model, BuildOptions("fp16", dla_core=0), ORIN),
    ]
    digests = {k.digest() for k in variants} | {base.digest()}
    assert len(digests) == len(variants) + 1
    # the digest is the sha256 of the key's canonical JSON: stable across processes
    canonical = json.dumps(base.as_dict(), sort_keys=True).encode()
    assert base.digest() == hashlib.sha256(canonical).hexdigest()
    # workspace size changes build time, not validity: not part of the key
    assert make_key(onnx_model, BuildOptions("fp16", workspace_gb=1.0), ORIN) == base


def test_miss_then_hit_builds_once(onnx_model, tmp_path):
    cache, build = EngineCache(tmp_path / "cache"), FakeBuilder()
    first = cache.get_or_build(onnx_model, BuildOptions("fp16"), ORIN, build)
    second = cache.get_or_build(onnx_model, BuildOptions("fp16"), ORIN, build)
    assert first == second and len(build.calls) == 1
    assert first.read_bytes() == b"engine:seg.onnx:fp16:1"
    key = make_key(onnx_model, BuildOptions("fp16"), ORIN)
    assert first.name == f"seg-{key.digest()[:16]}.engine"
    record = load_artifact(first).extra["tensorrt"]
    assert record["key"]["environment"] == {"tensorrt_version": "10.3.0", "gpu_name": "Orin",
                                            "compute_capability": "8.7"}
    assert load_artifact(first).task == "segmentation"   # the ONNX sidecar travels with the engine


def test_other_gpu_or_tensorrt_or_changed_onnx_is_stale_and_rebuilt(onnx_model, tmp_path):
    cache, build = EngineCache(tmp_path / "cache"), FakeBuilder()
    old = cache.get_or_build(onnx_model, BuildOptions("fp16"), ORIN, build)
    new_env = Environment("10.4.0", "Orin", "8.7")
    key = make_key(onnx_model, BuildOptions("fp16"), new_env)
    assert cache.lookup(onnx_model, key)[0] == "stale"
    rebuilt = cache.get_or_build(onnx_model, BuildOptions("fp16"), new_env, build)
    assert rebuilt != old and len(build.calls) == 2
    # a re-exported ONNX (different bytes) invalidates too
    write_conv_onnx(onnx_model, seg_artifact(8, 16, 3), seed=7)
    assert cache.lookup(onnx_model, make_key(onnx_model, BuildOptions("fp16"), ORIN))[0] == "stale"


def test_engine_whose_sidecar_records_another_key_is_not_trusted(onnx_model, tmp_path):
    cache, build = EngineCache(tmp_path / "cache"), FakeBuilder()
    path = cache.get_or_build(onnx_model, BuildOptions("fp16"), ORIN, build)
    sidecar = path.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    data["extra"]["tensorrt"]["key"]["environment"]["gpu_name"] = "Xavier"   # hand-copied engine
    sidecar.write_text(json.dumps(data))
    key = make_key(onnx_model, BuildOptions("fp16"), ORIN)
    assert cache.lookup(onnx_model, key) == ("stale", path)
    cache.get_or_build(onnx_model, BuildOptions("fp16"), ORIN, build)
    assert len(build.calls) == 2 and cache.lookup(onnx_model, key)[0] == "hit"


def test_profiles_and_options_validate():
    static = profile_for(seg_artifact(8, 16, 3, batch=2))
    assert static.min == static.opt == static.max == (2, 3, 8, 16)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeProfile((2, 3, 8, 8), (1, 3, 8, 8), (4, 3, 8, 8))
    with pytest.raises(ValueError, match="precision"):
        BuildOptions("int4")
    with pytest.raises(ValueError, match="DLA"):
        BuildOptions("fp32", dla_core=0)
    assert len(EngineKey("x", ORIN, "fp16", None).digest()) == 64


def test_runtime_engine_resolution_with_faked_tensorrt(onnx_model, tmp_path, monkeypatch):
    """rain_seg_ros.backends.tensorrt.resolve_engine: .onnx via the cache; a shipped .engine is
    used on the GPU it was built for and rebuilt from its ONNX elsewhere."""
    import shutil

    from rain_seg_ros.artifact import write_artifact
    from rain_seg_ros.backends import tensorrt as trt_backend
    from rain_seg_ros.backends.base import BackendError

    build = FakeBuilder()
    env = {"now": ORIN}
    monkeypatch.setattr(trt_backend, "probe_environment", lambda index: env["now"])
    monkeypatch.setattr(trt_backend, "build_serialized_engine",
                        lambda onnx, opts, timing_cache=None, device_index=0: build(onnx, opts))
    cache_dir = tmp_path / "cache"
    built = trt_backend.resolve_engine(onnx_model, 0, cache_dir, BuildOptions("fp16"))
    assert built.parent == cache_dir and len(build.calls) == 1
    assert trt_backend.resolve_engine(onnx_model, 0, cache_dir, BuildOptions("fp16")) == built
    # ship engine + ONNX to another folder, as the export step would
    ship = tmp_path / "ship"
    ship.mkdir()
    engine = ship / "seg_orin.engine"
    shutil.copyfile(built, engine)
    write_artifact(load_artifact(built), engine)
    graph = cache_dir / "seg.fp16.onnx"                       # fp16 was asked: built from an fp16 graph
    assert load_artifact(built).extra["tensorrt"]["onnx"] == str(graph)
    shutil.copyfile(graph, ship / "seg.fp16.onnx")
    shutil.copyfile(graph.with_suffix(".json"), ship / "seg.fp16.json")
    graph.unlink()                                            # the build machine's path is gone
    assert trt_backend.resolve_engine(engine, 0, tmp_path / "c2", BuildOptions("fp32")) == engine
    env["now"] = Environment("10.3.0", "RTX 4090", "8.9")       # another GPU: rebuilt, recorded fp16 kept
    rebuilt = trt_backend.resolve_engine(engine, 0, tmp_path / "c2", BuildOptions("fp32"))
    assert rebuilt.parent == tmp_path / "c2" and build.calls[-1][1].precision == "fp16"
    (ship / "seg.fp16.onnx").unlink()
    with pytest.raises(BackendError, match="missing for a rebuild"):
        trt_backend.resolve_engine(engine, 0, tmp_path / "c2", BuildOptions("fp16"))


def test_calibration_data_is_part_of_the_key(onnx_model):
    """Two Q/DQ graphs with identical bytes but calibrated on different images are different engines."""
    from dataclasses import replace

    from rain_seg_ros.artifact import write_artifact

    artifact = load_artifact(onnx_model)
    keys = []
    for calibration in ("a" * 64, "b" * 64):
        write_artifact(replace(artifact, extra={"quantization": {"calibration_sha256": calibration}}),
                       onnx_model)
        keys.append(make_key(onnx_model, BuildOptions("int8"), ORIN))
    assert keys[0].onnx_sha256 == keys[1].onnx_sha256
    assert [k.as_dict()["calibration_sha256"] for k in keys] == ["a" * 64, "b" * 64]
    assert keys[0].digest() != keys[1].digest()
