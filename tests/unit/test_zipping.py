"""The spooled zip writer (apps/interchange/zipping.py): the same bytes as zipfile's, readable by zipfile,
and memory that does not grow with the number of members (zipfile's keeps ~360 bytes a member)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from typing import Any

import pytest

from apps.interchange.export import zip_stream
from apps.interchange.zipping import SpooledZipFile


class Sink:
    """A write-only stream, as an export's (it cannot seek: zipfile writes data descriptors)."""

    def __init__(self, keep: bool = True) -> None:
        self.data = io.BytesIO() if keep else None

    def write(self, data: bytes) -> int:
        if self.data is not None:
            self.data.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def members(count: int) -> list[tuple[str, bytes]]:
    big = bytes(range(256)) * 1024  # 256 KiB, several pieces
    return [(f"labels/part{n % 3}/img_{n:05d}.txt", b"0 0.1 0.2 0.3\n" * (n % 4)) for n in range(count)] + [
        ("images/big.bin", big),
        ("ünïcode name.json", b"{}"),
    ]


def written(zip_class: type[zipfile.ZipFile], files: list[tuple[str, bytes]]) -> bytes:
    sink = Sink()
    with zip_class(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in files:
            with archive.open(zipfile.ZipInfo(name, (2026, 12, 5, 1, 0, 0)), "w", force_zip64=True) as m:
                m.write(content)
    assert sink.data is not None
    return sink.data.getvalue()


def test_it_writes_the_bytes_zipfile_writes_and_zipfile_reads_them_back() -> None:
    files = members(300)

    ours = written(SpooledZipFile, files)

    assert ours == written(zipfile.ZipFile, files)
    archive = zipfile.ZipFile(io.BytesIO(ours))
    assert archive.testzip() is None
    assert [(info.filename, archive.read(info)) for info in archive.infolist()] == files


def growth_per_member(zip_class: type[zipfile.ZipFile], count: int) -> float:
    tracemalloc.start()
    try:
        with zip_class(Sink(keep=False), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:  # type: ignore[arg-type]
            with archive.open("first.txt", "w", force_zip64=True) as member:
                member.write(b"x")
            before = tracemalloc.get_traced_memory()[0]
            for n in range(count):
                with archive.open(f"labels/img_{n:06d}.txt", "w", force_zip64=True) as member:
                    member.write(b"0 0.5 0.5 0.1 0.1\n")
            return (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_members() -> None:
    assert growth_per_member(zipfile.ZipFile, 5000) > 200  # what it replaces: every ZipInfo kept
    assert growth_per_member(SpooledZipFile, 5000) < 5  # bytes a member: nothing kept but a count


def test_it_only_writes_new_archives(tmp_path: Any) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(written(zipfile.ZipFile, [("a.txt", b"a")]))

    for mode in ("r", "a"):
        with pytest.raises(ValueError, match="only writes"):
            SpooledZipFile(path, mode)


def test_an_export_stream_is_a_zip_of_its_members() -> None:
    files = members(50)

    data = b"".join(zip_stream((name, lambda content=content: [content]) for name, content in files))

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert [(info.filename, archive.read(info)) for info in archive.infolist()] == files
