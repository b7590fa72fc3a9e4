"""Add data: imports of image files into a dataset, from an upload or a folder of the import root.

An import is a DataImport record and a task run on the queue (apps/tasks: RQ workers with Redis, the
server's own threads without): its files are read, hashed and registered batch by batch (Pillow reads only
their headers), a bad file refused with its reason while the rest goes on; thumbnails are tasks of their own
(apps/datasets/tasks.py). A run whose worker died resumes after the last batch it committed; see
docs/data.md and docs/operations.md.

A path import reads only under POLYLOG["IMPORT_ROOT"], the server's share: a folder read directly with local
storage, a key prefix of the bucket with object storage. Never where the app keeps its own files (the
datasets' images and thumbnails), never through a symlink that leads out of the root, and no answer, record
or refusal names a folder of the server.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import posixpath
import re
import stat
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.utils import validate_file_name
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils._os import safe_makedirs
from PIL import Image as PILImage

from apps.common.errors import ApiError
from apps.tasks.backends import backend_name
from apps.tasks.models import TaskRun
from apps.tasks.services import task_children_release, task_enqueue, task_progress, task_wait, tasks_enqueue

from .jpeg import jpeg_size
from .models import DataImport, Dataset, Image
from .reading import (
    FileTooLarge,
    NotAFile,
    OutsideRoot,
    allowed,
    read_jpegs,
    read_opened,
    reading_processes,
    reading_processes_lost,
)
from .services import (
    JPEG,
    STORED_PREFIXES,
    ImageFormat,
    UnsupportedFormat,
    detected_format,
    image_storage_name,
    stored_content,
)
from .signals import images_imported, images_registered

log = logging.getLogger(__name__)

IMPORT_TASK = "datasets.import"
THUMBNAILS_TASK = "datasets.thumbnails"

FileSource = Callable[[], Iterator[tuple[str, Callable[[], bytes]]]]
AnnotationFiles = list[tuple[str, Callable[[], bytes]]]

# Labeled imports by format: filled by the app that reads the formats (apps.interchange registers itself
# when Django starts), so this app does not depend on it. Each takes the import record and its annotation
# files after the images are in, stores the labels, and records counts and refused records on the record.
labeled_importers: dict[str, Callable[[DataImport, AnnotationFiles], None]] = {}


def safe_relative(path: str) -> str | None:
    """The path as a clean relative POSIX path, or None if it is absolute or climbs out with '..'."""
    if not path or path.startswith(("/", "\\")) or "\\" in path or "\0" in path:
        return None
    clean = posixpath.normpath(path)
    if clean == ".." or clean.startswith("../") or "/../" in f"/{clean}/":
        return None
    return "" if clean == "." else clean


# Characters no file name should carry: controls, and those Windows or a shell would read as syntax.
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
MAX_NAME_BYTES = 255


def _safe_segment(segment: str) -> str:
    if segment in (".", ".."):
        return segment  # left for safe_relative to refuse: a name that climbs is refused, not rewritten
    segment = _UNSAFE_IN_NAME.sub("_", segment).strip().lstrip(". ").rstrip(". ")
    if len(segment.encode()) > MAX_NAME_BYTES:
        stem, dot, extension = segment.rpartition(".")
        if not dot or len(extension) > 16:
            stem, extension = segment, ""
        keep = MAX_NAME_BYTES - len(extension.encode()) - (1 if extension else 0)
        stem = stem.encode()[:keep].decode(errors="ignore")
        segment = f"{stem}.{extension}" if extension else stem
    return segment


def upload_name(name: str) -> str:
    """An uploaded file's name made safe to store and show, segment by segment: Unicode NFC, unsafe
    characters (controls, and those Windows or a shell reads as syntax) replaced by '_', no leading dots or
    spaces (no hidden names), at most 255 bytes a segment with the extension kept. '.' and '..' segments
    are kept so that the import refuses the name as escaping; an absolute name stays absolute, likewise."""
    name = unicodedata.normalize("NFC", name)
    segments = name.split("/")
    return "/".join(_safe_segment(segment) if segment else segment for segment in segments)


Reader = Callable[[], bytes]


def _refused(error: Exception) -> Reader:
    def read() -> bytes:
        raise error

    return read


# Linux shows what a descriptor is open on under /proc/self/fd: the import root's fast reading path uses it.
_PROC_FD = os.path.isdir("/proc/self/fd")


class _Folder:
    """The import root as a folder of the local file system, read directly (outside the media storage).

    Every folder and file is resolved (symlinks followed) before it is listed or opened, and must stay under
    the root and out of the storage's own folders; a file is opened without following a last symlink and
    checked again once open, so a symlink swapped in meanwhile is not followed either.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.kept: tuple[str, ...] = ()
        # The root's name in the storage when it is a folder of it ("" for the storage's own folder): its
        # files are then registered where they are (in_place), else copied.
        self.in_storage: str | None = None
        if isinstance(default_storage, FileSystemStorage):
            location = os.path.realpath(default_storage.location)
            self.kept = tuple(os.path.join(location, prefix.rstrip("/")) for prefix in STORED_PREFIXES)
            if self.root == location or self.root.startswith(location + os.sep):
                relative = os.path.relpath(self.root, location).replace(os.sep, "/")
                self.in_storage = "" if relative == "." else relative

    def in_place(self, relative: str) -> str | None:
        """The storage name of the file at `relative` (below the root), if it is registered where it is: a
        root inside the storage's folder, and the file a regular file there, not a symlink (the storage
        reads none: apps/datasets/storage.py). None: it is copied into the dataset's folder."""
        if self.in_storage is None:
            return None
        try:
            found = os.lstat(os.path.join(self.root, relative))
        except OSError:
            return None
        return self._storage_name(relative) if stat.S_ISREG(found.st_mode) else None

    def _storage_name(self, relative: str) -> str | None:
        return None if self.in_storage is None else f"{self.in_storage}/{relative}".lstrip("/")

    def _allowed(self, real: str) -> bool:
        return allowed(real, self.root, self.kept)

    def _resolved(self, relative: str) -> str:
        real = os.path.realpath(os.path.join(self.root, relative))
        if not self._allowed(real):
            raise OutsideRoot(relative)
        return real

    def folder_exists(self, folder: str) -> bool:
        return os.path.isdir(self._resolved(folder))

    def files(self, folder: str) -> Iterator[tuple[str, Reader]]:
        """Every file under `folder`, recursively: (its path below `folder`, a reader); a folder that leads
        out of the root or cannot be listed is one entry whose reader refuses. A folder reached twice (a
        symlink loop) is walked once."""
        seen: set[str] = set()
        pending = [folder]
        while pending:
            current = pending.pop()
            below = current[len(folder) + 1 :]
            try:
                real = self._resolved(current)
            except OutsideRoot as outside:
                yield below, _refused(outside)
                continue
            if real in seen:
                continue
            seen.add(real)
            try:
                with os.scandir(real) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError as error:  # an unreadable sub-folder is refused like a file; the rest goes on
                if current == folder:
                    raise
                yield below, _refused(error)
                continue
            folders = []
            for entry in entries:
                name = f"{current}/{entry.name}"
                if entry.is_dir():  # a symlink to a folder too: resolved when its turn comes
                    folders.append(name)
                else:  # a regular file by the listing's file type (no system call), or anything else
                    listed_regular = entry.is_file(follow_symlinks=False)
                    yield name[len(folder) + 1 :], _FolderFile(self, name, listed_regular)
            pending.extend(reversed(folders))

    def read(self, relative: str, *, listed_regular: bool = False) -> bytes:
        return self.read_placed(relative, listed_regular=listed_regular)[0]

    def read_placed(self, relative: str, *, listed_regular: bool = False) -> tuple[bytes, str | None]:
        """The file's bytes, and its storage name if it is registered where it is (as `in_place` says).
        Where the file was opened by its own name as a regular file (no last symlink followed: O_NOFOLLOW,
        or a stat that does not follow it), that is known from the opening, without the lstat that
        `in_place` makes (as much as the reading of a file on a loaded machine); a name that is a symlink
        is read the long way and copied."""
        if _PROC_FD and listed_regular:
            content = self._read_opened(relative)
            if content is not None:
                return content, self._storage_name(relative)
        if _PROC_FD:
            content = self._read_in_folder(relative)
            if content is not None:
                return content, self._storage_name(relative)
        content = self._read_resolved(relative)
        return content, self.in_place(relative)  # a symlink now (None), or no /proc/self/fd to check by

    def _read_opened(self, relative: str) -> bytes | None:
        """A file the listing found regular, opened by its path without following a last symlink and
        checked once open (`reading.read_opened`); None when its name is a symlink now."""
        return read_opened(self.root, self.kept, relative, settings.POLYLOG["MAX_IMPORT_FILE_BYTES"])

    def _read_in_folder(self, relative: str) -> bytes | None:
        """The file opened inside its folder's descriptor, the folder checked by where the kernel says it
        is: a few system calls where resolving the path component by component (realpath) cost ten times
        the reading and hashing of a photo. A parent folder swapped for a symlink meanwhile is seen in the
        descriptor; the name itself is never followed. None when the name is a symlink: the caller resolves
        it the long way."""
        limit = settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]
        parent, name = posixpath.split(relative)
        folder = os.open(os.path.join(self.root, parent), os.O_RDONLY | os.O_DIRECTORY)
        try:
            if not self._allowed(os.readlink(f"/proc/self/fd/{folder}")):
                raise OutsideRoot(relative)
            found = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if stat.S_ISLNK(found.st_mode):
                return None
            if not stat.S_ISREG(found.st_mode):
                raise NotAFile(relative)
            if found.st_size > limit:
                raise FileTooLarge(relative)
            opened = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
        finally:
            os.close(folder)
        with open(opened, "rb") as handle:
            now = os.fstat(handle.fileno())
            if (now.st_dev, now.st_ino) != (found.st_dev, found.st_ino):
                raise OutsideRoot(relative)  # replaced between the check and the opening
            content = handle.read(limit + 1)
        if len(content) > limit:  # grown since it was measured
            raise FileTooLarge(relative)
        return content

    def _read_resolved(self, relative: str) -> bytes:
        limit = settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]
        real = self._resolved(relative)
        found = os.stat(real)
        if not stat.S_ISREG(found.st_mode):
            raise NotAFile(relative)
        if found.st_size > limit:
            raise FileTooLarge(relative)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        with open(os.open(real, flags), "rb") as handle:
            opened = os.fstat(handle.fileno())
            if (opened.st_dev, opened.st_ino) != (found.st_dev, found.st_ino):
                raise OutsideRoot(relative)  # replaced between the check and the opening
            link = f"/proc/self/fd/{handle.fileno()}"  # Linux: the file actually open
            if os.path.exists(link) and not self._allowed(os.path.realpath(link)):
                raise OutsideRoot(relative)
            content = handle.read(limit + 1)
        if len(content) > limit:  # grown since it was measured
            raise FileTooLarge(relative)
        return content


class _FolderFile:
    """A listed file of the import root's folder. Called: its bytes (a Reader). `placed()`: its bytes and
    its storage name if it is registered where it is (`_Folder.read_placed`), as the import reads it."""

    __slots__ = ("folder", "relative", "listed_regular")

    def __init__(self, folder: _Folder, relative: str, listed_regular: bool) -> None:
        self.folder, self.relative, self.listed_regular = folder, relative, listed_regular

    def __call__(self) -> bytes:
        return self.folder.read(self.relative, listed_regular=self.listed_regular)

    def placed(self) -> tuple[bytes, str | None]:
        return self.folder.read_placed(self.relative, listed_regular=self.listed_regular)


class _Prefix:
    """The import root as a key prefix of the default storage (object storage: a bucket has no symlinks).
    Keys under the app's own prefixes are refused, should the prefix be set to the bucket's top."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.strip("/")

    def in_place(self, relative: str) -> str | None:
        """Never: the bucket serves an object by its signed URL with the Content-Type it was uploaded with,
        so each file is copied with the type of its bytes (stored_content) rather than served as the
        share's uploader labelled it (docs/data.md)."""
        return None

    def _key(self, relative: str) -> str:
        key = f"{self.prefix}/{relative}" if self.prefix else relative
        if f"{key}/".startswith(STORED_PREFIXES):
            raise OutsideRoot(relative)
        return key

    def folder_exists(self, folder: str) -> bool:
        return _folder_exists(self._key(folder))

    def files(self, folder: str) -> Iterator[tuple[str, Reader]]:
        top = self._key(folder)
        pending = [top]
        while pending:
            current = pending.pop()
            dirs, files = default_storage.listdir(current)
            for name in sorted(files):
                below = f"{current}/{name}"[len(top) + 1 :]
                yield below, (lambda below=below: self.read(f"{folder}/{below}"))
            pending.extend(f"{current}/{d}" for d in sorted(dirs, reverse=True))

    def read(self, relative: str) -> bytes:
        if safe_relative(relative) is None:
            raise OutsideRoot(relative)
        key = self._key(relative)
        limit = settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]
        if default_storage.size(key) > limit:
            raise FileTooLarge(relative)
        with default_storage.open(key, "rb") as handle:
            content = handle.read(limit + 1)
        if len(content) > limit:  # grown since it was measured
            raise FileTooLarge(relative)
        return content


def import_root() -> _Folder | _Prefix:
    """POLYLOG["IMPORT_ROOT"]: a folder when the storage is the local file system, else a key prefix."""
    configured = str(settings.POLYLOG["IMPORT_ROOT"])
    return _Folder(configured) if isinstance(default_storage, FileSystemStorage) else _Prefix(configured)


def import_source(path: str) -> tuple[str, FileSource]:
    """A path import's folder, as a clean path below the import root, and its files; 400 if refused."""
    folder = safe_relative(path.rstrip("/"))
    outside = ApiError(
        400,
        "path_outside_storage",
        "The path leads outside the import folder: give a folder inside it, as a relative path.",
    )
    if folder is None:
        raise outside
    root = import_root()
    try:
        exists = bool(folder) and root.folder_exists(folder)
    except OutsideRoot:
        raise outside from None
    if not exists:
        raise ApiError(400, "invalid_request", f"There is no folder {folder[:200]!r} in the import folder.")
    return folder, lambda: root.files(folder)


def _folder_exists(root: str) -> bool:
    # Object storage has no folders, only keys under a prefix: ask for a listing rather than exists().
    try:
        dirs, files = default_storage.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:  # a name no file system holds: there is no such folder
            return False
        raise
    return bool(dirs or files)


def _server_folders() -> list[str]:
    folders = {str(settings.POLYLOG["IMPORT_ROOT"]), str(settings.MEDIA_ROOT), str(settings.BASE_DIR)}
    if isinstance(default_storage, FileSystemStorage):
        folders.add(str(default_storage.location))
    folders |= {os.path.realpath(folder) for folder in folders}
    return sorted((f for f in folders if f.startswith("/") and len(f) > 1), key=len, reverse=True)


def public_reason(error: Exception) -> str:
    """An error's text as an import record may show it: the operating system's words for an OSError (not
    the file name it carries), and no folder of the server in anything else."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    for folder in _server_folders():
        text = text.replace(folder, "…")
    return text


def _refusal(error: Exception) -> str:
    if isinstance(error, PILImage.DecompressionBombError | PILImage.DecompressionBombWarning):
        return f"decompression bomb: {error}"
    if isinstance(error, PILImage.UnidentifiedImageError):
        return "not an image (Pillow cannot read it)"
    if isinstance(error, UnsupportedFormat):
        return f"unsupported format: {error}"
    if isinstance(error, OSError) and error.strerror:  # the system's (storing it), not Pillow's (decoding it)
        return f"could not be stored: {error.strerror}"
    if isinstance(error, OSError | SyntaxError | ValueError):
        return f"truncated or damaged image: {public_reason(error)}"
    return f"could not be imported: {public_reason(error)}"


class LabelsInterrupted(Exception):
    """The worker died while an import's labels were being stored: running that again would store some twice."""

    def __str__(self) -> str:
        return "its worker stopped while the labels were being stored; some may be in, import them again"


@dataclass(slots=True)
class _Stored:
    """A file read, hashed, its header read and copied into storage: what registering it needs (its bytes
    are not kept, so a batch of large files costs no more memory than one)."""

    path: str  # as listed, for the record's refusals
    clean: str  # its path in the dataset
    file: str  # its storage name
    checksum: str
    width: int
    height: int
    copied: bool = True  # False: registered in place, a file of the import root that is never deleted here


# Pillow's pixel limit is a module global: swapped for the setting's only while a header is read, one file
# at a time (the reading and hashing around it run in parallel).
_PIXEL_LIMIT_LOCK = threading.Lock()


def _pixels_within(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise PILImage.DecompressionBombError(
            f"Image size ({width * height} pixels) exceeds limit of {limit} pixels, "
            "could be decompression bomb DOS attack."
        )


def _header(content: bytes) -> tuple[ImageFormat, int, int]:
    """The format and size from the file's header (a JPEG's markers walked, else Pillow, which opens lazily:
    no pixel is decoded). A PNG's chunks are checked too (their CRCs, cheap beside the sha256), so a
    truncated one is refused here; damage only a decoding finds shows when its thumbnail is made
    (apps/datasets/tasks.py).

    Pillow checks the pixel limit as it opens (an error past twice its module global, a warning past it);
    the global is the setting only while this file's header is read, and a size over the setting is refused
    here, so a warning is never what lets a file through (and no warnings filter is swapped per file)."""
    limit = settings.POLYLOG["MAX_IMAGE_PIXELS"]
    size = jpeg_size(content) if content.startswith(JPEG.signatures) else None
    if size is not None:  # a photo's markers walked without Pillow (apps/datasets/jpeg.py)
        _pixels_within(size[0], size[1], limit)
        return JPEG, size[0], size[1]
    with _PIXEL_LIMIT_LOCK:
        previous, PILImage.MAX_IMAGE_PIXELS = PILImage.MAX_IMAGE_PIXELS, limit
        try:
            picture = PILImage.open(io.BytesIO(content))
        finally:
            PILImage.MAX_IMAGE_PIXELS = previous
    with picture:
        width, height = picture.size
        _pixels_within(width, height, limit)
        image_format = detected_format(picture, content)
        if image_format.name == "PNG":
            picture.verify()
    return image_format, width, height


def _store(path: str, read: Callable[[], bytes], dataset_id: int) -> _Stored | str:
    """The file read, hashed and its header read, then registered where it is (a file of a path import
    whose root is a folder of the storage: `_FolderFile.placed` gives its storage name) or copied into the
    dataset's storage; or the reason it is refused. A copy is made before the batch asks which files the
    dataset already has (two queries for the batch, not two per file); the copies of those it has are
    deleted then, which costs a re-import of a whole folder a write and a delete per file, and the common
    import none."""
    clean = safe_relative(path)
    if clean is None or clean == "":
        return "the path escapes the import root"
    try:
        content, in_place = read.placed() if isinstance(read, _FolderFile) else (read(), None)
    except FileTooLarge:
        content = None
    except OutsideRoot:
        return "the path escapes the import root"
    except NotAFile:
        return "not a regular file"
    except OSError as error:
        return f"could not be read: {public_reason(error)}"
    if content is None or len(content) > settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]:
        return f"over {settings.POLYLOG['MAX_IMPORT_FILE_BYTES']} bytes"
    checksum = hashlib.sha256(content).hexdigest()
    try:
        image_format, width, height = _header(content)
        if in_place is not None:
            return _Stored(path, clean, in_place, checksum, width, height, copied=False)
        name = _stored_write(image_storage_name(dataset_id, clean, image_format), content, image_format)
    except Exception as error:  # each file's failure is its own; the import goes on
        return _refusal(error)
    return _Stored(path, clean, name, checksum, width, height)


# Folders of the local storage this process made or found (a folder deleted since is made again).
_FOLDERS_MADE: set[str] = set()
_FOLDERS_REMEMBERED = 10_000
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def _stored_write(name: str, content: bytes, image_format: ImageFormat) -> str:
    """Copy the file's bytes into the default storage under `name` (or the free name next to it); the name
    it got. On local storage, what `FileSystemStorage.save` does (a new file, never one already there nor a
    symlink; its permissions and group as the storage sets them) in its system calls alone: save() also
    asks whether the name exists, makes the folders, locks the new file and stats the storage's folder each
    time, which made the copy cost ten times the reading and hashing of a photo."""
    storage = default_storage
    if storage.__class__ is not FileSystemStorage:  # object storage, or a storage of the deployment's own
        return storage.save(name, stored_content(content, image_format))
    validate_file_name(name, allow_relative_path=True)
    full = storage.path(name)  # refuses a name that leads out of the storage's folder
    folder = os.path.dirname(full)
    if folder not in _FOLDERS_MADE:
        if storage.directory_permissions_mode is not None:
            safe_makedirs(folder, storage.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(folder, exist_ok=True)
        if len(_FOLDERS_MADE) >= _FOLDERS_REMEMBERED:
            _FOLDERS_MADE.clear()
        _FOLDERS_MADE.add(folder)
    while True:
        try:
            opened = os.open(full, _WRITE_FLAGS, 0o666)
        except FileExistsError:
            name = storage.get_available_name(name)
            full = storage.path(name)
        except FileNotFoundError:  # its folder was deleted since this process made it
            _FOLDERS_MADE.discard(folder)
            return storage.save(name, stored_content(content, image_format))
        else:
            break
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(opened, view) :]
        if storage.file_permissions_mode is not None:
            os.fchmod(opened, storage.file_permissions_mode)
        location_group = _location_group(storage.location)
        if os.fstat(opened).st_gid != location_group:
            with contextlib.suppress(PermissionError):
                os.fchown(opened, -1, location_group)
    except BaseException:
        os.close(opened)
        with contextlib.suppress(OSError):
            os.unlink(full)
        raise
    os.close(opened)
    return os.path.relpath(full, storage.location).replace("\\", "/")


_GROUPS: dict[str, int] = {}


def _location_group(location: str) -> int:
    if location not in _GROUPS:
        _GROUPS[location] = os.stat(location).st_gid
    return _GROUPS[location]


@dataclass
class _Tally:
    added: int = 0
    duplicates: int = 0
    failed: int = 0


Batch = list[tuple[int, str, Callable[[], bytes]]]


# The threads that read and hash the imports' files, made on first use and kept for the process's life:
# an import's own pool started its threads at its first batch, each start waiting for the new thread to be
# scheduled (a few milliseconds on a loaded machine, before the first file was read). Shared by the
# imports of a process, which bounds their reading together to POLYLOG["TASK_THREADS"].
_reading: tuple[ThreadPoolExecutor, int] | None = None
_reading_lock = threading.Lock()


def _reading_threads() -> tuple[ThreadPoolExecutor, int]:
    """The reading pool and its number of threads."""
    global _reading
    with _reading_lock:
        if _reading is None:
            threads = settings.POLYLOG["TASK_THREADS"]
            _reading = (ThreadPoolExecutor(threads, thread_name_prefix="import-read"), threads)
        return _reading


def _reading_processes() -> tuple[ProcessPoolExecutor, int] | None:
    """The reading processes (apps/datasets/reading.py) and their number, on the embedded queue; None
    where the reading threads read everything: POLYLOG["IMPORT_PROCESSES"] 0, no /proc/self/fd to check an
    opened file by, or RQ, which forks a work horse for each run (it would start processes of its own for
    each import, 50 ms, and leave them behind when it ends)."""
    count = settings.POLYLOG["IMPORT_PROCESSES"]
    if count <= 0 or not _PROC_FD or backend_name() != "embedded":
        return None
    return reading_processes(count), count


# A JPEG by its name (a misnamed file is read again by the threads, which find what it is).
_JPEG_NAMES = (".jpg", ".jpeg", ".jpe", ".jfif")


def _by_processes(path: str, read: Callable[[], bytes]) -> bool:
    """Whether the reading processes read this file: a JPEG by its name, listed as a regular file of an
    import root that is a folder of the storage (registered where it is, so its bytes need not come back)."""
    return (
        isinstance(read, _FolderFile)
        and read.listed_regular
        and read.folder.in_storage is not None
        and path.lower().endswith(_JPEG_NAMES)
        and bool(safe_relative(path))
    )


class _BatchReading:
    """A batch's files being read, from its making on: the JPEGs of the import root's folder by the
    reading processes (what they cannot read is read again here, with its reason), the rest by the reading
    threads (`_store`), a run of consecutive files each (a future per file cost more than a small file's
    reading). `results()` waits for them, in the batch's order."""

    def __init__(self, batch: Batch, dataset_id: int) -> None:
        self.batch, self.dataset_id = batch, dataset_id
        processes = _reading_processes()
        chosen = [n for n, (_, path, read) in enumerate(batch) if processes and _by_processes(path, read)]
        taken = set(chosen)
        rest = [n for n in range(len(batch)) if n not in taken]
        # (the batch's positions, their future, the process pool that reads them or None for the threads)
        self.parts: list[tuple[list[int], Future[list[Any]], ProcessPoolExecutor | None]] = []
        if chosen and processes is not None:
            pool, count = processes
            folder = batch[chosen[0]][2].folder  # one listing, one import root
            limit, pixels = settings.POLYLOG["MAX_IMPORT_FILE_BYTES"], settings.POLYLOG["MAX_IMAGE_PIXELS"]
            for run in _runs(chosen, count):
                relatives = [batch[n][2].relative for n in run]
                try:
                    future = pool.submit(read_jpegs, folder.root, folder.kept, relatives, limit, pixels)
                except (BrokenProcessPool, RuntimeError):  # a process of it was killed (or it was shut down)
                    _processes_lost(pool)
                    rest = sorted([*rest, *(n for n in chosen if n >= run[0])])  # the threads read the rest
                    break
                self.parts.append((run, future, pool))
        if rest:
            threads, count = _reading_threads()
            for run in _runs(rest, count):
                self.parts.append((run, threads.submit(self._store_run, run), None))

    def _store_run(self, run: list[int]) -> list[_Stored | str]:
        return [_store(self.batch[n][1], self.batch[n][2], self.dataset_id) for n in run]

    def results(self) -> list[_Stored | str]:
        answers: list[_Stored | str] = [""] * len(self.batch)
        for run, future, pool in self.parts:
            if pool is None:
                for n, stored in zip(run, future.result(), strict=True):
                    answers[n] = stored
                continue
            try:
                reads = future.result()
            except (BrokenProcessPool, CancelledError):  # a reading process was killed: read here, and
                _processes_lost(pool)  # new processes next time
                reads = [None] * len(run)
            for n, read in zip(run, reads, strict=True):
                _, path, reader = self.batch[n]
                if read is None:  # refused, or not what the process reads: read here, with the reason
                    answers[n] = _store(path, reader, self.dataset_id)
                else:
                    name = reader.folder._storage_name(reader.relative)
                    answers[n] = _Stored(path, safe_relative(path), name, *read, copied=False)
        return answers

    def stop(self) -> None:
        """The batch is not needed (one before it failed): what has not started is not read, and what has
        is waited for, so no file is read after the run's end."""
        for _, future, _ in self.parts:
            future.cancel()
        futures_wait([future for _, future, _ in self.parts])


def _processes_lost(pool: ProcessPoolExecutor) -> None:
    log.warning("an import's reading process stopped: its files are read by the server's threads")
    reading_processes_lost(pool)


def _runs(positions: list[int], count: int) -> list[list[int]]:
    """`positions` cut into `count` runs of consecutive ones, about equal."""
    share = -(-len(positions) // count)
    return [positions[start : start + share] for start in range(0, len(positions), share)]


# How many batches are read ahead of the one being registered: the reading never waits for the
# registration (what a batch read keeps until it is registered is a few hundred bytes a file).
_BATCHES_AHEAD = 4


def _already_in(dataset_id: int, field: str, values: set[str]) -> set[str]:
    """Which of `values` the dataset's images already have in `field` (checksum or path), in one statement
    on the (dataset, field) index. Written out: the ORM resolved each of a batch's 200 values through its
    lookup machinery, twice a batch, a tenth of the registration's time."""
    if len(values) > _INSERT_ROWS:  # within SQLite's 32,766 values a statement, whatever the batch
        ordered = sorted(values)
        return set().union(
            *(
                _already_in(dataset_id, field, set(ordered[start : start + _INSERT_ROWS]))
                for start in range(0, len(ordered), _INSERT_ROWS)
            )
        )
    if not values:
        return set()
    quote = connection.ops.quote_name
    column = quote(Image._meta.get_field(field).column)
    dataset = quote(Image._meta.get_field("dataset").column)
    sql = (
        f"SELECT {column} FROM {quote(Image._meta.db_table)} "
        f"WHERE {dataset} = %s AND {column} IN ({', '.join(['%s'] * len(values))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [dataset_id, *values])
        return {value for (value,) in cursor.fetchall()}


def _images_insert(dataset_id: int, stored: list[_Stored]) -> dict[str, int]:
    """Insert the image rows of `stored` in one statement, but those whose path the dataset has by then
    (another import's, committed since the batch asked): {path: id} of the rows inserted. Django's
    bulk_create prepares each of a row's values field by field, which cost more than reading the file."""
    if len(stored) > _INSERT_ROWS:  # SQLite takes at most 32,766 values a statement
        return {
            path: pk
            for start in range(0, len(stored), _INSERT_ROWS)
            for path, pk in _images_insert(dataset_id, stored[start : start + _INSERT_ROWS]).items()
        }
    if not stored:
        return {}
    fields = [Image._meta.get_field(name) for name in _IMAGE_COLUMNS]
    now = Image._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    values: list[object] = []
    for s in stored:
        values += [
            dataset_id,
            s.file,
            "",
            posixpath.basename(s.clean),
            s.clean,
            s.width,
            s.height,
            s.checksum,
        ]
        values.append(now)
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(Image._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * len(stored))} ON CONFLICT DO NOTHING RETURNING {quote('path')}, {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return dict(cursor.fetchall())  # RETURNING promises no order


_INSERT_ROWS = 1000
# The columns _images_insert writes, in the order of its values.
_IMAGE_COLUMNS = ("dataset", "file", "thumbnail", "name", "path", "width", "height", "checksum", "created_at")


def _register_batch(record: DataImport, run: TaskRun, batch: Batch, results: list[_Stored | str]) -> None:
    """Register one batch of stored files: two queries to find those already in the dataset (their copies
    deleted), then one transaction for the new rows, the counts, the refusals, the thumbnail tasks and the
    run's checkpoint (so a resumed run starts after the last batch committed)."""
    stored = [r for r in results if isinstance(r, _Stored)]
    have_checksums = _already_in(record.dataset_id, "checksum", {s.checksum for s in stored})
    have_paths = _already_in(record.dataset_id, "path", {s.clean for s in stored})
    tally = _Tally()
    refusals: list[dict[str, str]] = []
    new: list[_Stored] = []
    unused: list[str] = []
    for (_, path, _read), result in zip(batch, results, strict=True):
        if isinstance(result, str):
            refusals.append({"file": path, "reason": result})
        elif result.checksum in have_checksums:
            tally.duplicates += 1
            if result.copied:
                unused.append(result.file)
        elif result.clean in have_paths:
            refusals.append({"file": path, "reason": "another file already has this path in the dataset"})
            if result.copied:
                unused.append(result.file)
        else:
            have_checksums.add(result.checksum)
            have_paths.add(result.clean)
            new.append(result)
    for name in unused:
        default_storage.delete(name)
    with transaction.atomic():
        inserted = _images_insert(record.dataset_id, new)
        created = [inserted[s.clean] for s in new if s.clean in inserted]
        for s in new:
            if s.clean not in inserted:  # another import took this path meanwhile
                if s.copied:
                    default_storage.delete(s.file)
                refusals.append(
                    {"file": s.path, "reason": "another file already has this path in the dataset"}
                )
        tally.added = len(created)
        tally.failed = len(refusals)
        if created:  # the jobs' items written with their images, while the next files are read
            images_registered.send(sender=DataImport, dataset_id=record.dataset_id, image_ids=created)
        DataImport.objects.filter(pk=record.pk).update(
            processed=F("processed") + len(batch),
            added=F("added") + tally.added,
            duplicates=F("duplicates") + tally.duplicates,
            failed=F("failed") + tally.failed,
        )
        if refusals:
            errors = DataImport.objects.select_for_update().values_list("errors", flat=True).get(pk=record.pk)
            DataImport.objects.filter(pk=record.pk).update(errors=[*errors, *refusals])
        size = settings.POLYLOG["THUMBNAIL_BATCH"]
        chunks = [created[start : start + size] for start in range(0, len(created), size)]
        tasks_enqueue(
            kind=THUMBNAILS_TASK,
            runs=[({"image_ids": ids, "import_id": record.pk}, len(ids)) for ids in chunks],
            parent=run,
            held=_thumbnails_held(),
        )
        position = batch[-1][0] + 1
        checkpoint = {"position": position}
        # The least id the import gave an image, over every attempt: the jobs' sync at its end starts there.
        ids = [*created, *([run.checkpoint["first_image"]] if "first_image" in run.checkpoint else [])]
        if ids:
            checkpoint["first_image"] = min(ids)
        task_progress(run, done=position, checkpoint=checkpoint)


def _thumbnails_held() -> bool:
    """Whether the thumbnail runs wait for the import's end: on the embedded pool they would be threads of
    the importing process, taking its interpreter and its disk from the import (RQ workers are processes of
    their own, on their own cores: they start at once). The images are in, with placeholders, before."""
    return backend_name() == "embedded"


def _thumbnails_release(run: TaskRun) -> None:
    """Hand the import's held thumbnail runs to the queue: at its end, whether it is done or failed (a
    committed batch keeps its images, which get their thumbnails), and after a resumed attempt's end those
    of every attempt."""
    if _thumbnails_held():
        task_children_release(run)


def _listing(record: DataImport, run: TaskRun) -> list[tuple[str, Callable[[], bytes]]]:
    """The import's files in a fixed order (a resumed run skips by position): a path import's folder
    listed again and sorted by path, an upload's files as staged in storage by the request."""
    if record.source == DataImport.Source.PATH:
        return sorted(import_root().files(record.path), key=lambda entry: entry[0])

    def staged(key: str) -> Callable[[], bytes]:
        def read() -> bytes:
            with default_storage.open(key, "rb") as handle:
                return handle.read()

        return read

    return [(name, staged(key)) for name, key in run.args.get("uploads", [])]


def _unstage(run: TaskRun) -> None:
    for _, key in run.args.get("uploads", []):
        with contextlib.suppress(OSError):  # gone already (a resumed run that got this far before)
            default_storage.delete(key)


def import_run(run: TaskRun) -> None:
    """The import task: work through an import's files in batches, from where the run's checkpoint says a
    previous attempt got to, then synchronise the jobs and store the labels of a labeled import."""
    import_id = run.args["import_id"]
    record = DataImport.objects.select_related("dataset").get(pk=import_id)
    try:
        if run.checkpoint.get("stage") == "labels":
            raise LabelsInterrupted()
        listed = _listing(record, run)
        annotations: AnnotationFiles = []
        if record.labeled:
            # A labeled import's annotation files: .xml for CVAT's XML, .json for the JSON formats.
            suffix = ".xml" if record.format == DataImport.Format.CVAT else ".json"
            annotations = [(path, read) for path, read in listed if path.lower().endswith(suffix)]
            listed = [(path, read) for path, read in listed if not path.lower().endswith(suffix)]
        position = int(run.checkpoint.get("position", 0))
        size = settings.POLYLOG["IMPORT_BATCH"]
        numbered = [(n, path, read) for n, (path, read) in enumerate(listed)]
        batches = [numbered[start : start + size] for start in range(position, len(numbered), size)]
        # The next batches are read while this one is registered: the files and the database overlap (the
        # first while the record is marked running).
        reading = deque(_BatchReading(batch, record.dataset_id) for batch in batches[:_BATCHES_AHEAD])
        try:
            if record.status == DataImport.Status.QUEUED:
                DataImport.objects.filter(pk=import_id).update(
                    status=DataImport.Status.RUNNING,
                    started_at=timezone.now(),
                    total=len(listed) + len(annotations),
                )
            task_progress(run, done=position, total=len(listed))
            for n in range(len(batches)):
                results = reading[0].results()
                batch = reading.popleft().batch
                if n + _BATCHES_AHEAD < len(batches):
                    reading.append(_BatchReading(batches[n + _BATCHES_AHEAD], record.dataset_id))
                _register_batch(record, run, batch, results)
        finally:  # a batch that failed: the files read ahead are not left being read after the run's end
            for ahead in reading:
                ahead.stop()
        added = DataImport.objects.values_list("added", flat=True).get(pk=import_id)
        if added:
            images_imported.send(
                sender=DataImport,
                dataset_id=record.dataset_id,
                added=added,
                first_image_id=run.checkpoint.get("first_image"),
            )
        labels = bool(record.labeled and record.format)
        if labels:  # the thumbnails need not wait for the labels
            _thumbnails_release(run)
            task_progress(
                run,
                done=len(listed),
                checkpoint={**run.checkpoint, "position": len(listed), "stage": "labels"},
            )
            labeled_importers[record.format](record, annotations)
        DataImport.objects.filter(pk=import_id).update(
            status=DataImport.Status.DONE, finished_at=timezone.now()
        )
        if not labels:  # released once the import says done: on the embedded pool they would delay it
            _thumbnails_release(run)
        _unstage(run)
    except Exception as error:
        log.exception("import %s failed", import_id)
        DataImport.objects.filter(pk=import_id).update(
            status=DataImport.Status.FAILED,
            finished_at=timezone.now(),
            errors=[{"file": "", "reason": f"the import stopped: {public_reason(error)}"}],
        )
        _unstage(run)
        _thumbnails_release(run)
        raise


def import_given_up(run: TaskRun, reason: str) -> None:
    """The sweep gave the import's run up (its worker died too often): the import says failed, and why;
    its counts stay those of the batches that were committed."""
    import_id = run.args["import_id"]
    with transaction.atomic():
        errors = DataImport.objects.select_for_update().values_list("errors", flat=True).get(pk=import_id)
        DataImport.objects.filter(pk=import_id).update(
            status=DataImport.Status.FAILED,
            finished_at=timezone.now(),
            errors=[*errors, {"file": "", "reason": f"the import stopped: {reason}"}],
        )
    _unstage(run)
    _thumbnails_release(run)


def dataset_import_start(
    *,
    dataset: Dataset,
    actor: object,
    uploads: list[tuple[str, bytes]] | None = None,
    path: str | None = None,
    labeled: bool = False,
    format: str = "",
    job_id: int | None = None,
) -> DataImport:
    """Record an import and queue its task (handed to a worker after commit). Give `uploads` [(name, bytes)]
    or a `path`, a folder below the import root (POLYLOG["IMPORT_ROOT"]). Uploaded files are staged in
    storage under imports/<id>/ first, so that a worker on another machine, or a resumed run, can read them."""
    if (uploads is None) == (path is None):
        raise ApiError(400, "invalid_request", "Send files to upload, or a path in storage, not both.")
    folder = ""
    if path is not None:
        folder, _ = import_source(path)
        source = DataImport.Source.PATH
    else:
        source = DataImport.Source.UPLOAD
    record = DataImport.objects.create(
        dataset=dataset,
        actor=actor,
        source=source,
        path=folder,
        labeled=labeled,
        format=format,
        job_id=job_id,
    )
    args: dict[str, object] = {"import_id": record.pk}
    if uploads is not None:
        args["uploads"] = [
            [upload_name(name), default_storage.save(f"imports/{record.pk}/{n}", ContentFile(content))]
            for n, (name, content) in enumerate(uploads)
        ]
    record.task_run = task_enqueue(kind=IMPORT_TASK, args=args)
    record.save(update_fields=["task_run"])
    return record


def import_wait(import_id: int, timeout: float) -> DataImport:
    """Wait until the import's run and the thumbnail runs it started are done or failed, within `timeout`
    seconds (tests, the management command); the import record as it is then."""
    run_id = DataImport.objects.values_list("task_run_id", flat=True).get(pk=import_id)
    if run_id is not None:
        task_wait(run_id, timeout)
    return DataImport.objects.get(pk=import_id)
