"""Exporting a job (or the part of it a filter selects) as a zip, streamed while it is made.

The Django side of the interchange: it reads items and their current states and hands `ImageRecord`s to
the pure writers. Memory holds one chunk of items at a time; see docs/formats.md for the layouts.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from apps.labeling import store
from apps.labeling.domain import ItemState
from apps.labeling.domain.attributes import parse_declarations
from apps.labeling.models import Item, LabelingJob

from .coco import coco_chunks
from .cvat import cvat_chunks
from .labelme import labelme_document
from .model import IGNORE_LABEL, Category, ImageRecord, Obj
from .voc import voc_class_index, voc_class_list, voc_image_path, voc_masks
from .yolo import (
    yolo_class_index,
    yolo_data_yaml,
    yolo_image_list,
    yolo_image_path,
    yolo_label_path,
    yolo_lines,
)
from .zipping import SpooledZipFile

FORMATS = ("coco", "voc", "labelme", "yolo", "cvat")
CHUNK_ITEMS = 500
_FLUSH_BYTES = 1 << 16
_SPILL_BYTES = 2 * _FLUSH_BYTES  # past a member's piece and its header: only the end spills


def job_categories(job: LabelingJob) -> list[Category]:
    """The job's label classes in the order they were made, with their attribute declarations (a stored
    declaration is valid: the label class service checked it)."""
    return [
        Category(label.pk, label.name, label.color, parse_declarations(label.attributes or []))
        for label in job.label_classes.order_by("id")
    ]


# {label class id: the (name, default) of each attribute it declares, in order}
Defaults = dict[int, tuple[tuple[str, object], ...]]


def attribute_defaults(categories: Sequence[Category]) -> Defaults:
    return {c.id: tuple((s.name, s.default) for s in c.attributes) for c in categories if c.attributes}


def state_objects(state: ItemState, defaults: Defaults | None = None) -> tuple[Obj, ...]:
    """The closed shapes of a state as objects: the parts sharing a group_id and a label are one object
    (as labelme reads (label, group_id)); drafts are not exported. An object carries every attribute its
    class declares (`defaults`), its first part's value or the default; values of attributes the class no
    longer declares are left out."""
    objects: dict[object, tuple[int, list, tuple]] = {}
    for shape in state.shapes.values():
        if not shape.closed or shape.label_class_id is None:
            continue
        key = shape.id if shape.group_id is None else (shape.group_id, shape.label_class_id)
        objects.setdefault(key, (shape.label_class_id, [], shape.attributes))[1].append(shape.points)
    declared = defaults or {}
    out = []
    for key, (label, parts, values) in objects.items():
        attributes: tuple = declared.get(label, ())
        if attributes and values:
            given = dict(values)
            attributes = tuple((name, given.get(name, default)) for name, default in attributes)
        out.append(Obj(label, tuple(parts), None if isinstance(key, str) else key[0], attributes))
    return tuple(out)


def image_records(
    items: QuerySet[Item], progress: Progress | None = None, defaults: Defaults | None = None
) -> Iterator[tuple[ImageRecord, str]]:
    """(record, the image's file name in storage) for each item, its objects from the current state with
    the attributes `defaults` declares. Items are read in id order, a chunk at a time, with their states
    loaded in bulk; `progress` is told how many records were taken so far after each chunk (a queued
    export reports it)."""
    rows = items.order_by("id").values_list(
        "id", "last_seq", "image__path", "image__width", "image__height", "image__file"
    )
    after = taken = 0
    while True:
        chunk = list(rows.filter(id__gt=after)[:CHUNK_ITEMS])
        if not chunk:
            return
        heads = [(pk, width, height, seq) for pk, seq, _, width, height, _ in chunk]
        states = store.states_load_many(heads, history=False)  # shapes are all an export reads
        for pk, _, path, width, height, file in chunk:
            yield ImageRecord(pk, path, width, height, state_objects(states[pk], defaults)), file
        after = chunk[-1][0]
        taken += len(chunk)
        if progress is not None:
            progress(taken)


class _Lines:
    """Lines of text written last (a list of every image's name, the image files after a COCO document) kept
    in an anonymous temporary file rather than in a list that would grow with the export."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed when read, else when collected
        self.count = 0

    def add(self, text: str) -> None:
        self._file.write(text.encode())
        self.count += 1

    def blocks(self) -> Iterator[bytes]:
        self._file.seek(0)
        while block := self._file.read(_FLUSH_BYTES):
            yield block
        self._file.close()

    def lines(self) -> Iterator[str]:
        self._file.seek(0)
        for line in self._file:
            yield line.decode()
        self._file.close()


class _Sink:
    """A write-only file for zipfile that hands over what was written so far (zipfile copes with a
    stream it cannot seek: it writes sizes after each member). What comes in one go past _SPILL_BYTES (the
    central directory zipfile writes at the end, about 100 bytes a member) goes to a temporary file and is
    handed over from there in blocks, so it is never in memory whole."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._spill: BinaryIO | None = None
        self.size = 0

    def write(self, data: bytes) -> int:
        if self._spill is None and self.size + len(data) > _SPILL_BYTES:
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed by drain()
            self._spill.writelines(self._parts)
            self._parts = []
        if self._spill is not None:
            self._spill.write(data)
        else:
            self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator[bytes]:
        """What was written since the last drain, then empty."""
        spill, parts, self._spill, self._parts, self.size = self._spill, self._parts, None, [], 0
        if spill is None:
            if parts:
                yield b"".join(parts)
            return
        with spill:
            spill.seek(0)
            while block := spill.read(_FLUSH_BYTES):
                yield block


Member = tuple[str, Callable[[], Iterable[bytes]]]
Progress = Callable[[int], None]


def member_name(name: str) -> str:
    """A zip member name that cannot land outside the folder it is unpacked into: relative, with no '.' or
    '..' segment and no backslash. Image paths are clean when imported; this holds whatever the rows say."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]
    return "/".join(parts) or "unnamed"


def zip_stream(members: Iterable[Member]) -> Iterator[bytes]:
    """A zip of `members` [(name, a function giving its content in pieces)], as bytes while it is made."""
    sink = _Sink()
    # Spooled: the central directory's entries wait on disk, so memory does not grow with the members.
    with SpooledZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in members:
            with archive.open(member_name(name), "w", force_zip64=True) as member:
                for piece in content():
                    member.write(piece)
                    if sink.size >= _FLUSH_BYTES:
                        yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def _text(value: str) -> Callable[[], Iterable[bytes]]:
    return lambda: [value.encode()]


def _image_file(file: str) -> Callable[[], Iterable[bytes]]:
    def read() -> Iterator[bytes]:
        with default_storage.open(file, "rb") as handle:
            while block := handle.read(_FLUSH_BYTES):
                yield block

    return read


def _stem(path: str) -> str:
    return posixpath.splitext(path)[0]


def export_members(
    job: LabelingJob,
    items: QuerySet[Item],
    fmt: str,
    *,
    with_images: bool = False,
    progress: Progress | None = None,
) -> Iterator[Member]:
    """The files of an export in format `fmt` (one of FORMATS)."""
    categories = job_categories(job)
    records = image_records(items, progress, attribute_defaults(categories))
    if fmt in ("coco", "cvat"):
        pending = _Lines()  # the image files to add after the document, one JSON [name, file] a line

        def images() -> Iterator[ImageRecord]:
            for record, file in records:
                if with_images:
                    pending.add(json.dumps([record.file_name, file]) + "\n")
                yield record

        if fmt == "coco":
            yield (
                "annotations/instances_default.json",
                lambda: (c.encode() for c in coco_chunks(images(), categories)),
            )
        else:
            yield (
                "annotations.xml",
                lambda: (c.encode() for c in cvat_chunks(images(), categories, task_name=job.name)),
            )
        for line in pending.lines():
            path, file = json.loads(line)
            yield f"images/{path}", _image_file(file)
    elif fmt == "labelme":
        for record, file in records:
            name = posixpath.basename(record.file_name)
            document = labelme_document(record, categories, name)
            yield f"{_stem(record.file_name)}.json", _text(json.dumps(document, ensure_ascii=False, indent=2))
            if with_images:
                yield record.file_name, _image_file(file)
    elif fmt == "voc":
        index = voc_class_index(categories)
        names = _Lines()
        yield "labelmap.txt", _text(voc_class_list(categories))
        skipped = _Lines()
        for record, file in records:
            stem = _stem(record.file_name)
            try:
                class_png, object_png = voc_masks(record, index)
            except ValueError as error:  # more objects than an 8-bit PNG can number
                skipped.add(f"{record.file_name}: {error}\n")
                continue
            names.add(f"{stem}\n")
            yield f"SegmentationClass/{stem}.png", (lambda data=class_png: [data])
            yield f"SegmentationObject/{stem}.png", (lambda data=object_png: [data])
            if with_images:
                yield voc_image_path(record.file_name), _image_file(file)
        # 'train', a split torchvision's VOCSegmentation knows (train, trainval, val); one split only, so
        # that Datumaro, which reads every list here as a subset, sees each image once.
        yield "ImageSets/Segmentation/train.txt", names.blocks
        if skipped.count:
            yield "skipped.txt", skipped.blocks
    elif fmt == "yolo":
        index = yolo_class_index(categories)
        void_ids = {category.id for category in categories if category.name == IGNORE_LABEL}
        image_list = _Lines()
        yield "data.yaml", _text(yolo_data_yaml(categories))
        for record, file in records:
            image_path = yolo_image_path(record.file_name)
            yield yolo_label_path(image_path), _text(yolo_lines(record, index, void_ids))
            image_list.add(yolo_image_list([image_path]))
            if with_images:
                yield image_path, _image_file(file)
        yield "train.txt", image_list.blocks
    else:  # the view validates the format first
        raise ValueError(f"unknown export format {fmt!r}")


def export_stream(
    job: LabelingJob,
    items: QuerySet[Item],
    fmt: str,
    *,
    with_images: bool = False,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    return zip_stream(export_members(job, items, fmt, with_images=with_images, progress=progress))


def export_filename(job: LabelingJob, fmt: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in job.name)[:60] or "job"
    return f"{safe}-{job.pk}-{fmt}.zip"


__all__: Sequence[str] = ("FORMATS", "export_stream", "export_filename", "image_records", "state_objects")
