"""A zip writer whose memory does not grow with its number of files: the standard library's `ZipFile`, with
the central directory's entries kept in an anonymous temporary file instead of in memory.

`zipfile` remembers every member's `ZipInfo` (about 360 bytes each) until `close()` writes the central
directory from them: 100,000 images exported as LabelMe (one JSON a image) or VOC (two PNGs a image), or
with their image files, kept 35-70 MiB for that alone. Here each `ZipInfo` is pickled to a temporary file as
its member is finished and read back one at a time when the directory is written, through the two
attributes `zipfile` keeps them in (`filelist`, appended to and iterated; `NameToInfo`, only written to
and asked whether a name is taken). The bytes written are `zipfile`'s own.
"""

from __future__ import annotations

import pickle
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO


class _SpooledInfos:
    """The `filelist` of a ZipFile being written: appended to as members finish, counted, and iterated once
    when the central directory is written; the entries live in a temporary file."""

    def __init__(self) -> None:
        self._file: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._count = 0

    def append(self, info: zipfile.ZipInfo) -> None:
        pickle.dump(info, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        self._file.seek(0)
        for _ in range(self._count):
            yield pickle.load(self._file)  # noqa: S301 - our own pickles, in our own temporary file
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()


class _Names(dict):
    """`NameToInfo` while writing: zipfile asks it only whether a name is already in the archive (to warn of
    a duplicate); keeping every name for that would grow with the archive, so nothing is kept."""

    def __setitem__(self, name: str, info: Any) -> None:
        pass


class SpooledZipFile(zipfile.ZipFile):
    """`zipfile.ZipFile` for writing only, its central directory spooled to disk (see the module)."""

    def __init__(self, file: Any, mode: str = "w", *args: Any, **kwargs: Any) -> None:
        super().__init__(file, mode, *args, **kwargs)
        if mode not in ("w", "x"):
            super().close()
            raise ValueError("SpooledZipFile only writes a new archive")
        self.filelist = _SpooledInfos()  # type: ignore[assignment]
        self.NameToInfo = _Names()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if isinstance(self.filelist, _SpooledInfos):
                self.filelist.close()
