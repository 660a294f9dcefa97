"""Hostile or broken rosbag2 input to replay_eval: cut recordings, missing metadata, messages and
chunks that claim (or expand to) huge sizes. Each ends in one line saying what to do, exit 1, no
replay started, and memory bounded (checked with tracemalloc, which sees numpy buffers too)."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag2 import (
    CompressionFormat,
    CompressionMode,
    ReaderError,
    StoragePlugin,
    Writer,
    storage_mcap,
)
from rosbags.rosbag2 import reader as rosbag2_reader

from rain_seg_ros.codec import array_to_image_fields
from rain_seg_ros.replay import bounded_decompress, replay_eval
from rain_seg_ros.replay.bag_io import TYPESTORE, BagError, image_message, read_topic, write_bag
from rain_seg_ros.replay.bounded_decompress import zstd

TOPIC = "/camera/image"
T0 = 1_700_000_000_000_000_000
MIB = 1 << 20


def image(i: int, height: int = 24, width: int = 32) -> Any:
    rgb = np.full((height, width, 3), i * 10, np.uint8)
    return image_message(T0 + i, "cam", array_to_image_fields(rgb, "rgb8"))


def write_images(path: Path, storage: str, n: int = 4) -> Path:
    return write_bag(path, {TOPIC: [(T0 + i, image(i)) for i in range(n)]}, storage=storage)


def storage_file(bag: Path) -> Path:
    return next(p for p in bag.iterdir() if p.name != "metadata.yaml")


def fails_in_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bag: Path,
                      tmp_path: Path) -> str:
    monkeypatch.setattr(replay_eval, "evaluate", lambda *_: pytest.fail("replay started on a bad bag"))
    assert replay_eval.main([str(bag), "--image-topic", TOPIC, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
    return err


def peak_while_refused(error: type[Exception], match: str, read: Any, *args: Any) -> int:
    """Peak traced memory (bytes) while read(*args) is refused with `error` matching `match`."""
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match):
            read(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_cut_recording(tmp_path, capsys, monkeypatch, storage, keep):
    bag = write_images(tmp_path / "bag", storage)
    data = storage_file(bag).read_bytes()
    storage_file(bag).write_bytes(data[: int(len(data) * keep)])  # recorder killed mid-write
    err = fails_in_one_line(capsys, monkeypatch, bag, tmp_path)
    assert f"{bag}: cannot read (" in err
    assert "is the recording complete? re-index it with `ros2 bag reindex` or re-record" in err


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_missing_metadata_yaml(tmp_path, capsys, monkeypatch, storage):
    bag = write_images(tmp_path / "bag", storage)
    (bag / "metadata.yaml").unlink()
    err = fails_in_one_line(capsys, monkeypatch, bag, tmp_path)
    assert f"{bag}: cannot read (no metadata.yaml)" in err and "ros2 bag reindex" in err


def test_bag_that_does_not_exist(tmp_path, capsys, monkeypatch):
    err = fails_in_one_line(capsys, monkeypatch, tmp_path / "nope", tmp_path)
    assert "no such bag" in err


def test_metadata_yaml_with_a_python_tag_is_not_executed(tmp_path, capsys, monkeypatch):
    bag = write_images(tmp_path / "bag", "mcap")
    marker = tmp_path / "pwned"
    (bag / "metadata.yaml").write_text(
        f"!!python/object/apply:os.system ['touch {marker}']\n")
    err = fails_in_one_line(capsys, monkeypatch, bag, tmp_path)
    assert "cannot read (" in err and not marker.exists()


def test_message_claiming_a_huge_data_length(tmp_path, capsys, monkeypatch):
    """A CDR Image whose data length says 2 GiB while the message holds 2 KiB."""
    msg = image(0, height=24, width=32)
    raw = bytearray(TYPESTORE.serialize_cdr(msg, msg.__msgtype__))
    at = bytes(raw).index(struct.pack("<I", msg.data.size) + msg.data.tobytes())
    raw[at: at + 4] = struct.pack("<I", 0x7FFF_FFF0)
    bag = tmp_path / "bag"
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(TOPIC, msg.__msgtype__, typestore=TYPESTORE)
        writer.write(connection, T0, bytes(raw))
    peak = peak_while_refused(BagError, "cannot read", read_topic, bag, TOPIC)
    assert peak < 64 * MIB
    assert "cannot read (" in fails_in_one_line(capsys, monkeypatch, bag, tmp_path)


def zstd_chunked_bag(path: Path) -> Path:
    writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)  # zstd MCAP chunks
    with writer:
        connection = writer.add_connection(TOPIC, image(0).__msgtype__, typestore=TYPESTORE)
        for i in range(3):
            writer.write(connection, T0 + i, TYPESTORE.serialize_cdr(image(i), image(i).__msgtype__))
    return path


def claim_chunk_size(mcap: Path, size: int) -> int:
    """Rewrite the uncompressed size that every Chunk (0x06) and ChunkIndex (0x08) record of an MCAP
    file claims (and drop the chunk CRC); returns how many records were changed."""
    data = bytearray(mcap.read_bytes())
    pos, changed = 8, 0  # after the magic
    while pos + 9 <= len(data):
        opcode, length = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
        body = pos + 9
        if opcode == 0x06:      # start, end, uncompressed_size, crc, compression, records
            struct.pack_into("<QI", data, body + 16, size, 0)
            changed += 1
        elif opcode == 0x08:    # start, end, offset, length, index offsets, index length, compression, sizes
            at = body + 32
            at += 4 + struct.unpack_from("<I", data, at)[0] + 8
            at += 4 + struct.unpack_from("<I", data, at)[0] + 8
            struct.pack_into("<Q", data, at, size)
            changed += 1
        elif opcode == 0x02:    # footer
            break
        pos = body + length
    mcap.write_bytes(bytes(data))
    return changed


def test_chunk_claiming_a_huge_uncompressed_size(tmp_path, capsys, monkeypatch):
    bag = zstd_chunked_bag(tmp_path / "bag")
    assert len(read_topic(bag, TOPIC)) == 3  # the untouched bag reads
    assert claim_chunk_size(storage_file(bag), 1 << 40) >= 2
    peak = peak_while_refused(BagError, "decompresses to more than", read_topic, bag, TOPIC)
    assert peak < 64 * MIB
    assert "decompresses to more than" in fails_in_one_line(capsys, monkeypatch, bag, tmp_path)


def zstd_bomb(size: int) -> bytes:
    """A zstd frame of `size` zero bytes, without ever holding them (a few KiB compressed)."""
    stream = zstd.ZstdCompressor()
    zeros = bytes(MIB)
    out = b"".join(stream.compress(zeros) for _ in range(size // MIB))
    return out + stream.flush()


def test_chunk_that_expands_past_its_claim():
    """A chunk claiming 1 KiB whose data expands to 64 MiB: refused after 1 KiB + 1 of output."""
    bomb = zstd_bomb(64 * MIB)
    peak = peak_while_refused(ReaderError, "decompresses to more than", storage_mcap.DECOMPRESSORS["zstd"],
                              bomb, 1024)
    assert peak < 8 * MIB


def test_compressed_message_bomb(tmp_path, capsys, monkeypatch):
    """rosbag2 per-message zstd: a message expanding past the per-message limit is refused."""
    bag = tmp_path / "bag"
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(TOPIC, image(0).__msgtype__, typestore=TYPESTORE)
        writer.write(connection, T0, zstd_bomb(16 * MIB))
    metadata = (bag / "metadata.yaml").read_text()
    assert "compression_mode: ''" in metadata
    (bag / "metadata.yaml").write_text(metadata.replace("compression_mode: ''", "compression_mode: message")
                                       .replace("compression_format: ''", "compression_format: zstd"))
    # Small limits for this test only; monkeypatch puts the project's limits back afterwards.
    monkeypatch.setattr(rosbag2_reader, "zstd", rosbag2_reader.zstd)
    for name in ("zstd", "lz4"):
        monkeypatch.setitem(storage_mcap.DECOMPRESSORS, name, storage_mcap.DECOMPRESSORS[name])
    bounded_decompress.install(chunk_limit=MIB, message_limit=MIB, file_limit=MIB)
    peak = peak_while_refused(BagError, "decompresses to more than", read_topic, bag, TOPIC)
    assert peak < 8 * MIB
