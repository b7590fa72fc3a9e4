"""The local media storage: Django's FileSystemStorage, whose files are read only where they are.

A path import registers files of the import root in place when the root is a folder of the storage
(docs/data.md, "Registered in place"): those files stay the administrator's, who may swap one for a symlink
after the import. FileSystemStorage opens a name by following every symlink, so every reader of a stored
file (the media view, thumbnails, exports with images, the assist tools) could then be handed a file from
anywhere on the server. This storage opens a name for reading without following a last symlink and checks
where the kernel says the open file is: under the storage's folder and a regular file, or it is not there
(FileNotFoundError, as for a file deleted meanwhile). Writing is FileSystemStorage's own.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage

_PROC_FD = os.path.isdir("/proc/self/fd")
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC


class MediaStorage(FileSystemStorage):
    """FileSystemStorage that never reads through a symlink, nor anything but a regular file of its folder."""

    def _open(self, name: str, mode: str = "rb") -> Any:
        if mode not in ("r", "rb"):
            return super()._open(name, mode)
        path = self.path(name)  # refuses a name that leads out of the folder
        try:
            opened = os.open(path, _READ_FLAGS)
        except OSError as error:
            if error.errno == errno.ELOOP:  # a symlink: as if there were no such file
                raise FileNotFoundError(f"No such file: {name!r}") from None
            raise
        try:
            real = os.readlink(f"/proc/self/fd/{opened}") if _PROC_FD else os.path.realpath(path)
            location = os.path.realpath(self.location)
            if not real.startswith(location + os.sep) or not stat.S_ISREG(os.fstat(opened).st_mode):
                raise FileNotFoundError(f"No such file: {name!r}")
            handle = os.fdopen(opened, mode)
        except BaseException:
            os.close(opened)
            raise
        return File(handle, name)
