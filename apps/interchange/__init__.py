"""Pure conversions between polylog's neutral model and COCO, LabelMe, PASCAL VOC and YOLO. Imports no Django.

(The package's Django side, which these pure modules never import, is `export` and `labeled` (services
over jobs and imports), `api` (REST) and `apps` (registration of the labeled importers).)

Writers take `ImageRecord`s and stream; readers take a file's bytes and return what they could take plus
one `Refusal` per record they could not. docs/formats.md says what each format keeps and loses.
"""

from __future__ import annotations

from .coco import coco_annotation, coco_read, coco_write
from .labelme import labelme_document, labelme_read
from .model import (
    CLAMP_TOLERANCE,
    IGNORE_LABEL,
    Category,
    ImageRecord,
    Obj,
    ParsedImage,
    ParsedImport,
    ParsedObject,
    Point,
    Refusal,
    Ring,
    ring_area,
)
from .voc import voc_class_index, voc_class_list, voc_masks, voc_palette
from .yolo import yolo_class_index, yolo_data_yaml, yolo_lines

__all__ = [
    "CLAMP_TOLERANCE",
    "IGNORE_LABEL",
    "Category",
    "ImageRecord",
    "Obj",
    "ParsedImage",
    "ParsedImport",
    "ParsedObject",
    "Point",
    "Refusal",
    "Ring",
    "coco_annotation",
    "coco_read",
    "coco_write",
    "labelme_document",
    "labelme_read",
    "ring_area",
    "voc_class_index",
    "voc_class_list",
    "voc_masks",
    "voc_palette",
    "yolo_class_index",
    "yolo_data_yaml",
    "yolo_lines",
]
