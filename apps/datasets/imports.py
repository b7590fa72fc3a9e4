"""Add data: imports of image files into a dataset, from an upload or a folder of the import root.

An import is a DataImport record; its files are handled outside the request by a worker thread (one per
import; several processes each run their own), file by file: a bad file is refused with its reason and the
rest goes on. Scaling out means running the same function in a job queue instead; see docs/data.md.

A path import reads only under POLYLOG["IMPORT_ROOT"], the server's share: a folder read directly with local
storage, a key prefix of the bucket with object storage. Never where the app keeps its own files (the
datasets' images and thumbnails), never through a symlink that leads out of the root, and no answer, record
or refusal names a folder of the server.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import posixpath
import re
import stat
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image as PILImage

from apps.common.errors import ApiError

from .models import DataImport, Dataset, Image
from .services import STORED_PREFIXES, UnsupportedFormat, image_create
from .signals import images_imported

log = logging.getLogger(__name__)

# Running imports by id, so a caller (a test, the management command) can wait for one.
workers: dict[int, threading.Thread] = {}

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


class OutsideRoot(Exception):
    """A file or folder that leads out of the import root, or into the app's own files."""

    def __str__(self) -> str:
        return f"{self.args[0]!r} leads outside the import folder"


class NotAFile(Exception):
    """A listed name that is no regular file (a FIFO, a device): opening it could block or never end."""

    def __str__(self) -> str:
        return f"{self.args[0]!r} is not a regular file"


class FileTooLarge(Exception):
    """A file over POLYLOG["MAX_IMPORT_FILE_BYTES"], found so before its content is read."""


Reader = Callable[[], bytes]


def _refused(error: Exception) -> Reader:
    def read() -> bytes:
        raise error

    return read


class _Folder:
    """The import root as a folder of the local file system, read directly (outside the media storage).

    Every folder and file is resolved (symlinks followed) before it is listed or opened, and must stay under
    the root and out of the storage's own folders; a file is opened without following a last symlink and
    checked again once open, so a symlink swapped in meanwhile is not followed either.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.kept: tuple[str, ...] = ()
        if isinstance(default_storage, FileSystemStorage):
            location = os.path.realpath(default_storage.location)
            self.kept = tuple(os.path.join(location, prefix.rstrip("/")) for prefix in STORED_PREFIXES)

    def _allowed(self, real: str) -> bool:
        def under(folder: str) -> bool:
            return real == folder or real.startswith(folder + os.sep)

        return under(self.root) and not any(under(kept) for kept in self.kept)

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
                else:
                    yield name[len(folder) + 1 :], (lambda name=name: self.read(name))
            pending.extend(reversed(folders))

    def read(self, relative: str) -> bytes:
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


class _Prefix:
    """The import root as a key prefix of the default storage (object storage: a bucket has no symlinks).
    Keys under the app's own prefixes are refused, should the prefix be set to the bucket's top."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.strip("/")

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


def _handle_file(record: DataImport, path: str, read: Callable[[], bytes]) -> tuple[str, str | None]:
    """('added' | 'duplicate' | 'failed', reason) for one file."""
    clean = safe_relative(path)
    if clean is None or clean == "":
        return "failed", "the path escapes the import root"
    try:
        content = read()
    except FileTooLarge:
        content = None
    except OutsideRoot:
        return "failed", "the path escapes the import root"
    except NotAFile:
        return "failed", "not a regular file"
    except OSError as error:
        return "failed", f"could not be read: {public_reason(error)}"
    if content is None or len(content) > settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]:
        return "failed", f"over {settings.POLYLOG['MAX_IMPORT_FILE_BYTES']} bytes"
    checksum = hashlib.sha256(content).hexdigest()
    if Image.objects.filter(dataset_id=record.dataset_id, checksum=checksum).exists():
        return "duplicate", None
    if Image.objects.filter(dataset_id=record.dataset_id, path=clean).exists():
        return "failed", "another file already has this path in the dataset"
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        previous, PILImage.MAX_IMAGE_PIXELS = PILImage.MAX_IMAGE_PIXELS, settings.POLYLOG["MAX_IMAGE_PIXELS"]
        try:
            image_create(dataset=record.dataset, path=clean, content=content)
        except Exception as error:  # each file's failure is its own; the import goes on
            return "failed", _refusal(error)
        finally:
            PILImage.MAX_IMAGE_PIXELS = previous
    return "added", None


def import_run(import_id: int, files: FileSource) -> None:
    """Work through an import's files, recording progress and per-file refusals as it goes."""
    record = DataImport.objects.select_related("dataset").get(pk=import_id)
    try:
        listed = list(files())
        annotations: AnnotationFiles = []
        if record.labeled:
            annotations = [(path, read) for path, read in listed if path.lower().endswith(".json")]
            listed = [(path, read) for path, read in listed if not path.lower().endswith(".json")]
        DataImport.objects.filter(pk=import_id).update(
            status=DataImport.Status.RUNNING, started_at=timezone.now(), total=len(listed) + len(annotations)
        )
        for path, read in listed:
            outcome, reason = _handle_file(record, path, read)
            counter = {"added": "added", "duplicate": "duplicates", "failed": "failed"}[outcome]
            DataImport.objects.filter(pk=import_id).update(
                processed=F("processed") + 1, **{counter: F(counter) + 1}
            )
            if reason is not None:
                errors = DataImport.objects.values_list("errors", flat=True).get(pk=import_id)
                DataImport.objects.filter(pk=import_id).update(
                    errors=[*errors, {"file": path, "reason": reason}]
                )
        added = DataImport.objects.values_list("added", flat=True).get(pk=import_id)
        if added:
            images_imported.send(sender=DataImport, dataset_id=record.dataset_id, added=added)
        if record.labeled and record.format:
            labeled_importers[record.format](record, annotations)
        DataImport.objects.filter(pk=import_id).update(
            status=DataImport.Status.DONE, finished_at=timezone.now()
        )
    except Exception as error:
        log.exception("import %s failed", import_id)
        DataImport.objects.filter(pk=import_id).update(
            status=DataImport.Status.FAILED,
            finished_at=timezone.now(),
            errors=[{"file": "", "reason": f"the import stopped: {public_reason(error)}"}],
        )


def _in_thread(import_id: int, files: FileSource) -> None:
    try:
        import_run(import_id, files)
    finally:
        connection.close()
        workers.pop(import_id, None)


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
    """Record an import and start its worker after commit. Give `uploads` [(name, bytes)] or a `path`, a
    folder below the import root (POLYLOG["IMPORT_ROOT"])."""
    if (uploads is None) == (path is None):
        raise ApiError(400, "invalid_request", "Send files to upload, or a path in storage, not both.")
    folder = ""
    if path is not None:
        folder, files = import_source(path)
        source = DataImport.Source.PATH
    else:
        kept = [(upload_name(name), content) for name, content in uploads or []]
        files = lambda: iter([(name, (lambda c=content: c)) for name, content in kept])  # noqa: E731
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

    def start() -> None:
        close_old_connections()
        worker = threading.Thread(
            target=_in_thread, args=(record.pk, files), name=f"import-{record.pk}", daemon=True
        )
        workers[record.pk] = worker
        worker.start()

    transaction.on_commit(start)
    return record


def import_wait(import_id: int, timeout: float) -> None:
    """Wait for a running import's worker (tests, the management command)."""
    worker = workers.get(import_id)
    if worker is not None:
        worker.join(timeout)
