"""Add data: imports of image files into a dataset, from an upload or a folder/prefix in storage.

An import is a DataImport record; its files are handled outside the request by a worker thread (one per
import; several processes each run their own), file by file: a bad file is refused with its reason and the
rest goes on. Scaling out means running the same function in a job queue instead; see docs/data.md.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import posixpath
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image as PILImage

from apps.common.errors import ApiError

from .models import DataImport, Dataset, Image
from .services import image_create
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


def _storage_files(root: str) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Every file under the folder (or bucket prefix) `root`, recursively: (path below root, reader)."""
    pending = [root]
    while pending:
        folder = pending.pop()
        dirs, files = default_storage.listdir(folder)
        for name in sorted(files):
            full = f"{folder}/{name}"
            yield full[len(root) + 1 :], (lambda full=full: _read_bounded(full))
        pending.extend(f"{folder}/{d}" for d in sorted(dirs, reverse=True))


class FileTooLarge(Exception):
    """A file over POLYLOG["MAX_IMPORT_FILE_BYTES"], found so before its content is read."""


def _read_bounded(name: str) -> bytes:
    limit = settings.POLYLOG["MAX_IMPORT_FILE_BYTES"]
    if default_storage.size(name) > limit:
        raise FileTooLarge(name)
    with default_storage.open(name, "rb") as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:  # grown since it was measured
        raise FileTooLarge(name)
    return content


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


def _refusal(error: Exception) -> str:
    if isinstance(error, PILImage.DecompressionBombError | PILImage.DecompressionBombWarning):
        return f"decompression bomb: {error}"
    if isinstance(error, PILImage.UnidentifiedImageError):
        return "not an image (Pillow cannot read it)"
    if isinstance(error, OSError | SyntaxError | ValueError):
        return f"truncated or damaged image: {error}"
    return f"could not be imported: {error}"


def _handle_file(record: DataImport, path: str, read: Callable[[], bytes]) -> tuple[str, str | None]:
    """('added' | 'duplicate' | 'failed', reason) for one file."""
    clean = safe_relative(path)
    if clean is None or clean == "":
        return "failed", "the path escapes the import root"
    try:
        content = read()
    except FileTooLarge:
        content = None
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
            errors=[{"file": "", "reason": f"the import stopped: {error}"}],
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
    """Record an import and start its worker after commit. Give `uploads` [(name, bytes)] or a storage `path`."""
    if (uploads is None) == (path is None):
        raise ApiError(400, "invalid_request", "Send files to upload, or a path in storage, not both.")
    if path is not None:
        root = safe_relative(path.rstrip("/"))
        if root is None:
            raise ApiError(400, "path_outside_storage", f"The path {path[:200]!r} escapes the storage root.")
        if not root or not _folder_exists(root):
            raise ApiError(400, "invalid_request", f"There is no folder {path[:200]!r} in storage.")
        files: FileSource = lambda: _storage_files(root)  # noqa: E731
        source = DataImport.Source.PATH
    else:
        kept = [(upload_name(name), content) for name, content in uploads or []]
        files = lambda: iter([(name, (lambda c=content: c)) for name, content in kept])  # noqa: E731
        source = DataImport.Source.UPLOAD
        root = ""
    record = DataImport.objects.create(
        dataset=dataset, actor=actor, source=source, path=root, labeled=labeled, format=format, job_id=job_id
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
