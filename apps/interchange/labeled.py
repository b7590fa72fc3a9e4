"""Labeled imports: COCO instances JSON, LabelMe JSON folders and CVAT for images XML as the "labeled" mode
of Add data.

After the import's images are in the dataset (apps.datasets.imports), the annotation files are read by the
pure readers; their label names become the job's label classes, and each image's objects become
`add_polygon` events on its item, attributed to the importer, followed by a `save`, so the items count as
labeled and the imported geometry is what "reset" returns to. Every record that cannot be taken (by the
reader or by the labeling rules) is listed on the import record with its code; a refused record stores
nothing, and an object in several parts is stored whole or not at all.

Attribute values are set (`set_attributes`, in the same unit as the object's polygons) where the object's
label class declares the attribute and the value is one it takes; a value for an attribute the class does
not declare, or one it does not take, is left out and counted on the import record, one entry per label,
attribute and reason. A label class the import creates from a CVAT file starts with the file's declarations.
"""

from __future__ import annotations

import itertools
import posixpath
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F

from apps.datasets.imports import AnnotationFiles
from apps.datasets.models import DataImport
from apps.labeling import live, store
from apps.labeling.domain import Command, Rejected
from apps.labeling.domain.attributes import AttributeSpec, Value
from apps.labeling.domain.commands import ImportPolygon, Save, SetAttributes
from apps.labeling.models import Item, LabelClass, LabelingJob
from apps.labeling.services import item_commands_apply, job_sync, label_class_create

from .coco import coco_read
from .cvat import cvat_read
from .labelme import labelme_read
from .model import IGNORE_LABEL, OCCLUDED, ParsedImage, ParsedObject, Refusal, Refused, attribute_value

# Colours for label classes an import creates, in turn (the VOC palette's first entries, readable on photos).
ITEMS_PER_TRANSACTION = 200
COLOURS = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6")
# VOC's colour for void (palette entry 255), for the class of void regions.
VOID_COLOUR = "#e0e0c0"


# (the file a refused record is in, the refusal)
Refusals = list[tuple[str, Refusal]]
# (the annotation file an image was read from, the image)
Sourced = list[tuple[str, ParsedImage]]


Declared = dict[str, list[dict[str, Any]]]


def _parsed(record: DataImport, files: AnnotationFiles) -> tuple[list[str], Sourced, Refusals, Declared]:
    """The label names the files list (a COCO file's categories or a CVAT file's labels, every one, in its
    order; LabelMe lists none), the images with the file each came from, what the readers refused, and the
    attribute declarations of the labels a CVAT file declares."""
    names: list[str] = []
    images: Sourced = []
    refusals: Refusals = []
    declared: Declared = {}
    for name, read in files:
        if record.format in (DataImport.Format.COCO, DataImport.Format.CVAT):
            reader = coco_read if record.format == DataImport.Format.COCO else cvat_read
            parsed = reader(read())
            names += parsed.categories
            for label, rows in parsed.declarations.items():
                declared.setdefault(label, rows)
            images += [(name, image) for image in parsed.images]
            refusals += [
                (name, Refusal(f"{name} {r.record}", r.code, r.message, r.objects)) for r in parsed.refusals
            ]
        else:
            image, refused = labelme_read(name, read())
            if image is not None:
                images.append((name, image))
            refusals += [(name, r) for r in refused]
    return names, images, refusals, declared


class _ItemFinder:
    """The job's item for a file name from an annotation file: the image at that path, else the only image
    with that path's file name (COCO file names often leave out the folder)."""

    def __init__(self, job: LabelingJob) -> None:
        rows = Item.objects.filter(job=job, deleted_at__isnull=True).values_list(
            "id", "image__path", "image__name"
        )
        self.by_path: dict[str, int] = {}
        by_name: dict[str, list[int]] = {}
        for item_id, path, name in rows:
            self.by_path[path] = item_id
            by_name.setdefault(name, []).append(item_id)
        self.by_name = {name: ids[0] for name, ids in by_name.items() if len(ids) == 1}

    def find(self, file_name: str) -> int | None:
        return self.by_path.get(file_name) or self.by_name.get(posixpath.basename(file_name))


def _label_classes(job: LabelingJob, names: Iterable[str], declared: Declared) -> dict[str, int]:
    """{name: id} of the job's label classes, creating those the import names and the job lacks, in the
    order of `names` (an export lists a job's classes in the order they were made, so class indices of VOC
    and YOLO follow the file's order), with the attributes the file `declared` for them; a class the job
    has keeps its own declarations. Void regions' class gets VOC's void colour."""
    have = dict(LabelClass.objects.filter(job=job).values_list("name", "id"))
    colours = itertools.cycle(COLOURS[len(have) % len(COLOURS) :] + COLOURS[: len(have) % len(COLOURS)])
    for name in names:
        if name not in have:
            colour = VOID_COLOUR if name == IGNORE_LABEL else next(colours)
            attributes = declared.get(name) or None
            have[name] = label_class_create(job=job, name=name[:100], color=colour, attributes=attributes).pk
    return have


def labeled_import(record: DataImport, files: AnnotationFiles) -> None:
    """Store the labels of a labeled import's annotation files on the items of `record.job_id`."""
    job = LabelingJob.objects.get(pk=record.job_id)
    listed, images, refusals, declared = _parsed(record, files)
    job_sync(job=job)
    finder = _ItemFinder(job)
    used = (obj.label for _, image in images for obj in image.objects)
    labels = _label_classes(job, dict.fromkeys([*listed, *used]), declared)
    values = _Values(labels, store.job_attribute_specs(job.pk))
    added, found = _share_labels(record, images, finder, labels, values)
    _record(record, added, [*refusals, *found, *values.refusals()], len(files))


class _Values:
    """The attribute values of imported objects that their label classes take, and a count of those left
    out, by (label, attribute, reason)."""

    def __init__(self, labels: Mapping[str, int], specs: Mapping[int, Mapping[str, AttributeSpec]]) -> None:
        self.specs = {name: specs.get(label_id, {}) for name, label_id in labels.items()}
        # (label, attribute, code) -> [the first file, the first message, how many]
        self.left_out: dict[tuple[str, str, str], list[Any]] = {}

    def of(self, source: str, obj: ParsedObject) -> tuple[tuple[str, Value], ...]:
        """The values to set on `obj`'s parts, sorted by name; a value equal to the declared default is
        not set (the shape reads the default, and follows it if a manager changes it)."""
        declared = self.specs.get(obj.label, {})
        out: dict[str, Value] = {}
        for name, raw in obj.attributes:
            spec = declared.get(name)
            if spec is None:
                if name == OCCLUDED and raw in (False, "false", "0"):
                    continue  # CVAT writes occluded on every shape; false says nothing
                known = (
                    f"it declares {', '.join(map(repr, declared))}"[:200] if declared else "it declares none"
                )
                message = f"The label class {obj.label!r} has no attribute {name[:64]!r} ({known})."
                self._leave_out(source, obj.label, name, "unknown_attribute", message)
                continue
            try:
                value = attribute_value(spec, raw)
            except Refused as error:
                self._leave_out(source, obj.label, name, error.code, error.message)
                continue
            if value != spec.default:
                out[name] = value
        return tuple(sorted(out.items()))

    def _leave_out(self, source: str, label: str, name: str, code: str, message: str) -> None:
        self.left_out.setdefault((label, name[:64], code), [source, message, 0])[2] += 1

    def refusals(self) -> Refusals:
        return [
            (
                source,
                Refusal(
                    f"attribute {name!r} of {label!r}",
                    code,
                    f"{count} value(s) were not set: {message}",
                ),
            )
            for (label, name, code), (source, message, count) in self.left_out.items()
        ]


def _share_labels(
    record: DataImport, images: Sourced, finder: _ItemFinder, labels: dict[str, int], values: _Values
) -> tuple[int, Refusals]:
    """Store the labels of `images`, a batch of items per transaction: one commit per item would make a
    10,000-image import wait on 10,000 log flushes."""
    added, refusals = 0, []
    for start in range(0, len(images), ITEMS_PER_TRANSACTION):
        with transaction.atomic():
            for source, image in images[start : start + ITEMS_PER_TRANSACTION]:
                added += _image_labels(record, source, image, finder, labels, values, refusals)
    return added, refusals


def _image_labels(
    record: DataImport,
    source: str,
    image: ParsedImage,
    finder: _ItemFinder,
    labels: dict[str, int],
    values: _Values,
    refusals: Refusals,
) -> int:
    """Store one image's objects on its item; returns how many were stored. Refusals name `source`, the
    annotation file the image was read from."""
    item_id = finder.find(image.file_name)
    count = len(image.objects)
    if item_id is None:
        message = (
            f"{source} refers to the image {image.file_name!r}, which is not in the job (it was not in "
            f"the import, or was refused); its {count} object(s) were not imported."
        )
        refusals.append(
            (source, Refusal(f"{source} {image.file_name}", "missing_image_file", message, count))
        )
        return 0
    units: list[list[Command]] = []
    for obj in image.objects:
        group = None if len(obj.parts) == 1 else f"import{record.pk}-{obj.group or len(units)}"[:64]
        unit: list[Command] = []
        given = values.of(source, obj)
        for part in obj.parts:
            shape_id = str(uuid.uuid4())
            unit.append(ImportPolygon(shape_id, labels[obj.label], part, group))
            if given:
                unit.append(SetAttributes(shape_id, given))
        units.append(unit)
    try:
        result = item_commands_apply(
            item_id=item_id,
            actor_id=record.actor_id,
            units=[*units, [Save()]],
            label_class_ids=frozenset(labels.values()),
        )
    except Rejected as error:  # the image left the job meanwhile
        refusals.append((source, Refusal(f"{source} {image.file_name}", error.code, error.message, count)))
        return 0
    live.publish_on_commit(result.broadcasts)
    refused = dict(result.refused)
    for index, error in result.refused:
        is_object = index < count
        label = image.objects[index].label if is_object else "save"
        where = f"{source} {image.file_name} object {index} ({label})"
        refusals.append((source, Refusal(where, error.code, error.message, int(is_object))))
    return sum(1 for index in range(len(units)) if index not in refused)


def _record(record: DataImport, added: int, refusals: Refusals, files: int) -> None:
    errors = DataImport.objects.values_list("errors", flat=True).get(pk=record.pk)
    errors = [
        *errors,
        *({"file": file, "record": r.record, "code": r.code, "reason": r.message} for file, r in refusals),
    ]
    DataImport.objects.filter(pk=record.pk).update(
        errors=errors,
        objects_added=F("objects_added") + added,
        objects_refused=F("objects_refused") + sum(r.objects for _, r in refusals),
        processed=F("processed") + files,
    )


def register(importers: dict[str, Callable[[DataImport, AnnotationFiles], None]]) -> None:
    importers[DataImport.Format.COCO] = labeled_import
    importers[DataImport.Format.LABELME] = labeled_import
    importers[DataImport.Format.CVAT] = labeled_import
