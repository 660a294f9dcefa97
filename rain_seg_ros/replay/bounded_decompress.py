"""Bounded decompression for the rosbags reader: a bag is a file from a user, and a small
compressed chunk or message can claim, or expand to, gigabytes (a decompression bomb).

rosbags 0.11 decompresses in three places, all replaced here by versions that stop at a limit:
MCAP chunks (`storage_mcap.DECOMPRESSORS`, given the chunk's claimed size), rosbag2 per-message
zstd (`reader.zstd.decompress`) and whole-file zstd (`reader.zstd.open`, copied to a temp dir).
Past the limit they raise rosbags' own ReaderError, which the readers already report.
`tests/security/test_bags.py` checks that the replacement is in effect.
"""

from __future__ import annotations

from typing import Any

import lz4.frame
from rosbags.rosbag2 import ReaderError, storage_mcap
from rosbags.rosbag2 import reader as rosbag2_reader

zstd: Any = rosbag2_reader.zstd  # the zstd module rosbags was built against (stdlib or backport)


def _refuse(what: str, limit: int) -> ReaderError:
    return ReaderError(f"{what} decompresses to more than {limit} bytes (corrupt or hostile bag)")


def bounded_chunk(decompressor: Any, limit: int) -> Any:
    """MCAP chunk decompressor: refuse claims over `limit`, never produce more than the claim + 1."""
    def decompress(data: bytes, size: int) -> bytes:
        if size > limit:
            raise _refuse(f"MCAP chunk claiming {size} bytes", limit)
        out: bytes = decompressor().decompress(data, max_length=size + 1)
        if len(out) > size:
            raise _refuse("MCAP chunk", size)
        return out
    return decompress


class _BoundedZstd:
    """Stands in for the zstd module inside rosbags.rosbag2.reader."""

    def __init__(self, message_limit: int, file_limit: int) -> None:
        self.message_limit = message_limit
        self.file_limit = file_limit

    def decompress(self, data: bytes) -> bytes:
        out: bytes = zstd.ZstdDecompressor().decompress(data, max_length=self.message_limit + 1)
        if len(out) > self.message_limit:
            raise _refuse("a zstd-compressed message", self.message_limit)
        return out

    def open(self, file: Any, mode: str = "rb") -> Any:
        return _LimitedReader(zstd.open(file, mode), self.file_limit)


class _LimitedReader:
    """File object that raises once more than `limit` bytes were read from it."""

    def __init__(self, inner: Any, limit: int) -> None:
        self.inner, self.limit, self.count = inner, limit, 0

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self.inner.read(1 << 20 if size is None or size < 0 else size)
        self.count += len(chunk)
        if self.count > self.limit:
            raise _refuse("a zstd-compressed bag file", self.limit)
        return chunk

    def __enter__(self) -> _LimitedReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.close()


def install(chunk_limit: int, message_limit: int, file_limit: int) -> None:
    """Replace rosbags' decompressors by bounded ones (idempotent)."""
    storage_mcap.DECOMPRESSORS["lz4"] = bounded_chunk(lz4.frame.LZ4FrameDecompressor, chunk_limit)
    storage_mcap.DECOMPRESSORS["zstd"] = bounded_chunk(zstd.ZstdDecompressor, chunk_limit)
    rosbag2_reader.zstd = _BoundedZstd(message_limit, file_limit)  # type: ignore[assignment]
