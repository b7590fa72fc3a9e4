"""How other tools read our exports, reimplemented from their source where the tool itself cannot be a dev
dependency here (Ultralytics and torchvision need torch; Datumaro 1.13 pins Pillow 12, we pin 13).

Each function follows the named function of the named version line for line, as far as it concerns a
dataset on the local disk (no downloads, no caches); a change there is a change here. They are test
helpers: they raise where the tool raises, with the tool's message.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Ultralytics 8.4.190 -------------------------------------------------------------------------------------

ULTRALYTICS_IMG_FORMATS = {"avif", "bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "tif"}
ULTRALYTICS_IMG_FORMATS |= {"tiff", "webp"}


def ultralytics_dataset(yaml_file: str, datasets_dir: Path) -> dict[str, Any]:
    """`ultralytics/data/utils.py` `check_det_dataset(yaml_file)`, its path resolution: the dataset root is
    `path:` if given, else the yaml's folder; a root that does not exist and is not absolute is taken
    under DATASETS_DIR; `train`, `val`, `test` are resolved against the root (one '../' dropped when the
    result does not exist). Relative paths resolve against the current directory, as there."""
    import yaml

    file = Path(yaml_file)
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["yaml_file"] = str(file)
    for key in ("train", "val"):
        if key not in data:
            raise SyntaxError(
                f"{yaml_file} '{key}:' key missing. 'train' and 'val' are required in all data YAMLs."
            )
    path = Path(data.get("path") or Path(data.get("yaml_file", "")).parent)
    if not path.exists() and not path.is_absolute():
        path = (datasets_dir / path).resolve()
    data["path"] = path
    for key in ("train", "val", "test", "minival"):
        if data.get(key):
            if isinstance(data[key], str):
                x = (path / data[key]).resolve()
                if not x.exists() and data[key].startswith("../"):
                    x = (path / data[key][3:]).resolve()
                data[key] = str(x)
            else:
                data[key] = [str((path / x).resolve()) for x in data[key]]
    return data


def ultralytics_image_files(img_path: str) -> list[str]:
    """`ultralytics/data/base.py` `BaseDataset.get_img_files`: a folder is searched recursively; a text
    file lists images, a line starting with './' taken relative to the list's folder, any other line as it
    is (relative to the current directory); only image extensions are kept, sorted."""
    found: list[str] = []
    p = Path(img_path)
    if p.is_dir():
        found += glob.glob(str(Path(glob.escape(p)) / "**" / "*.*"), recursive=True)
    elif p.is_file():
        lines = p.read_text(encoding="utf-8-sig").strip().splitlines()
        parent = str(p.parent) + os.sep
        found += [x.replace("./", parent, 1) if x.startswith("./") else x for x in lines]
    else:
        raise FileNotFoundError(f"{p} does not exist")
    images = sorted(
        x.replace("/", os.sep) for x in found if x.rpartition(".")[-1].lower() in ULTRALYTICS_IMG_FORMATS
    )
    if not images:
        raise FileNotFoundError(f"No images found in {img_path}")
    return images


def ultralytics_label_paths(img_paths: list[str]) -> list[str]:
    """`ultralytics/data/utils.py` `img2label_paths`: the last '/images/' becomes '/labels/', the extension
    '.txt'."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return [sb.join(os.fspath(x).rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt" for x in img_paths]


# Datumaro 1.13.12, VOC segmentation -----------------------------------------------------------------------


def _voc_colormap(length: int = 256) -> dict[int, tuple[int, int, int]]:
    """`datumaro/plugins/data_formats/voc/format.py` `generate_colormap`."""
    colormap = np.zeros((length, 3), dtype=int)
    indices = np.arange(length, dtype=int)
    for j in range(7, -1, -1):
        for c in range(3):
            colormap[:, c] |= ((indices >> c) & 1) << j
        indices >>= 3
    return {i: (int(r), int(g), int(b)) for i, (r, g, b) in enumerate(colormap)}


def datumaro_parse_label_map(path: Path) -> OrderedDict[str, list[Any]]:
    """`voc/format.py` `parse_label_map`: `name:r,g,b:parts:actions` a line; '#' lines and blank lines
    skipped."""
    label_map: OrderedDict[str, list[Any]] = OrderedDict()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] == "#":
                continue
            label_desc = line.strip().split(":")
            if len(label_desc) != 4:
                raise ValueError(
                    f"Label description has wrong number of fields '{len(label_desc)}'. "
                    "Expected 4 ':'-separated fields."
                )
            name = label_desc[0]
            if name in label_map:
                raise ValueError(f"Label '{name}' is already defined in the label map")
            color: tuple[int, ...] | None = None
            if label_desc[1]:
                parts = label_desc[1].split(",")
                if len(parts) != 3:
                    raise ValueError(
                        f"Label '{name}' has wrong color '{parts}'. Expected an 'r,g,b' triplet."
                    )
                color = tuple(int(c) for c in parts)
            label_map[name] = [
                color,
                [s.strip() for s in label_desc[2].split(",")] if label_desc[2] else [],
                [s.strip() for s in label_desc[3].split(",")] if label_desc[3] else [],
            ]
    return label_map


def _unpaint(path: Path, inverse: dict[tuple[int, ...], int]) -> np.ndarray:
    """`util/mask_tools.py` `load_mask` + `unpaint_mask`: the PNG read as colours (OpenCV expands a palette
    PNG to BGR), each colour mapped back to its index; an undeclared colour raises KeyError."""
    with Image.open(path) as picture:
        rgb = np.array(picture.convert("RGB")).astype(int)
    packed = rgb[:, :, 2] + (rgb[:, :, 1] << 8) + (rgb[:, :, 0] << 16)
    values, flat = np.unique(packed, return_inverse=True)
    palette = []
    for v in values:
        colour = (int(v >> 16) & 255, int(v >> 8) & 255, int(v) & 255)
        if colour not in inverse:
            raise KeyError(f"Undeclared color {colour}")
        palette.append(inverse[colour])
    return np.array(palette, dtype=np.uint8)[flat].reshape(packed.shape)


def datumaro_voc_segmentation(root: Path) -> list[dict[str, Any]]:
    """`import_from(root, 'voc_segmentation')`, as `VocSegmentationImporter.find_sources` and
    `VocBase` (`_load_categories`, `_load_subset_list`, `__iter__`, `_parse_masks`) read a local folder:
    every `ImageSets/Segmentation/*.txt` without '_' in its name is a subset; the labels are labelmap.txt's
    (colours map the class PNG back to labels); an item is a subset list's line; its image is found under
    JPEGImages by name with any extension; each instance of SegmentationObject is a mask with the label
    its pixels have in SegmentationClass. Returns [{subset, id, image, masks: [(instance, label name)]}].
    """
    lists = sorted((root / "ImageSets" / "Segmentation").glob("*.txt"))
    subsets = [path for path in lists if "_" not in path.name]
    if not subsets:
        raise FileNotFoundError(f"Can't find a subset list under {root}")
    label_map = datumaro_parse_label_map(root / "labelmap.txt")
    labels = list(label_map)
    if any(desc[0] is not None for desc in label_map.values()):
        colormap = {labels.index(name): desc[0] for name, desc in label_map.items() if desc[0] is not None}
    else:
        colormap = {i: c for i, c in _voc_colormap(len(labels)).items()}
    inverse_class = {colour: index for index, colour in colormap.items()}
    inverse_instance = {colour: index for index, colour in _voc_colormap(256).items()}
    images_dir = root / "JPEGImages"
    images = {
        os.path.splitext(os.path.relpath(p, images_dir))[0].replace("\\", "/"): p
        for p in glob.glob(str(images_dir / "**" / "*"), recursive=True)
        if os.path.isfile(p)
    }
    items = []
    for subset_path in subsets:
        ids = [
            line.strip()
            for line in subset_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        for item_id in ids:
            masks = []
            class_path = root / "SegmentationClass" / f"{item_id}.png"
            instance_path = root / "SegmentationObject" / f"{item_id}.png"
            classes = _unpaint(class_path, inverse_class) if class_path.is_file() else None
            if instance_path.is_file():
                instances = _unpaint(instance_path, inverse_instance)
                assert classes is not None, "instance masks without class masks are not read here"
                combined = (classes.astype(np.uint32) << 16) + instances.astype(np.uint32)
                pairs = {int(k & 0xFFFF): int(k >> 16) for k in np.unique(combined) if k & 0xFFFF}
                for instance, label in pairs.items():
                    if label >= len(labels):
                        raise KeyError(f"Undeclared label {label}")
                    masks.append((instance, labels[label]))
            items.append(
                {"subset": subset_path.stem, "id": item_id, "image": images.get(item_id), "masks": masks}
            )
    return items


# torchvision 0.29, VOCSegmentation ------------------------------------------------------------------------


def torchvision_voc_paths(voc_root: Path, image_set: str = "train") -> tuple[list[Path], list[Path]]:
    """`torchvision/datasets/voc.py` `_VOCBase.__init__`, for a dataset already in place: `voc_root` is
    `<root>/VOCdevkit/VOC2012`; image_set is train, trainval or val; the split lists names; the images are
    `JPEGImages/<name>.jpg`, the targets `SegmentationClass/<name>.png`."""
    if image_set not in ("train", "trainval", "val"):
        raise ValueError(f"Unknown value '{image_set}' for argument image_set.")
    split_f = voc_root / "ImageSets" / "Segmentation" / f"{image_set}.txt"
    with open(split_f) as f:
        file_names = [x.strip() for x in f.readlines()]
    images = [voc_root / "JPEGImages" / f"{x}.jpg" for x in file_names]
    targets = [voc_root / "SegmentationClass" / f"{x}.png" for x in file_names]
    return images, targets


def torchvision_voc_segmentation(
    voc_root: Path, image_set: str = "train"
) -> list[tuple[Image.Image, Image.Image]]:
    """`VOCSegmentation(root, image_set=...)[i]` for every i: the image opened and converted to RGB, the
    target opened as it is."""
    images, targets = torchvision_voc_paths(voc_root, image_set)
    return [(Image.open(i).convert("RGB"), Image.open(t)) for i, t in zip(images, targets, strict=True)]


# Datumaro 1.13.12, CVAT for images (plugins/data_formats/cvat/base.py) ------------------------------------


def datumaro_cvat(path: Path) -> dict[str, Any]:
    """`CvatImporter.find_sources` + `CvatBase._parse`, `_parse_meta`, `_parse_shape_ann` and `_load_items`
    for an images task (Datumaro parses with defusedxml's ElementTree; the standard one parses the same).

    The file needs <meta> (DatasetImportError otherwise) holding <task> or <project>; every <label> needs a
    <name> and each of its <attribute>s a <name> and an <input_type> (AttributeError otherwise, as there).
    An <attribute>'s text 'true'/'false' becomes a bool; for an attribute whose input_type is not text
    a float is tried; `occluded` is set from the shape's flag over any attribute of that name. An image's
    file must be at images/<name> beside the XML, or DatasetImportError("Cannot find an image ...").
    Returns {"labels": [names], "attributes": {label: {names}}, "items": [{id, name, width, height,
    annotations: [{type, label, points, group, z_order, attributes}]}]}.
    """
    from xml.etree import ElementTree

    rootpath = os.path.dirname(path)
    images_dir = os.path.join(rootpath, "images") if os.path.isdir(os.path.join(rootpath, "images")) else ""
    context = iter(ElementTree.iterparse(path, events=("start", "end")))
    meta_root = None
    for event, elem in context:
        if elem.tag == "meta" and event == "start":
            meta_root = elem
        elif elem.tag == "meta" and event == "end":
            break
    if meta_root is None:
        raise RuntimeError("DatasetImportError: CVAT XML file should have <meta> tag.")
    if meta_root.find("project") is None and meta_root.find("task") is None:
        raise RuntimeError(
            "DatasetImportError: CVAT XML file should have a <meta> -> <task> or <meta> -> <project> subtree."
        )
    labels: OrderedDict[str, list[dict[str, str]]] = OrderedDict()
    for label in meta_root.iter("label"):
        name = label.find("name").text  # type: ignore[union-attr]
        labels[name] = [  # type: ignore[index]
            {"name": attr.find("name").text, "input_type": attr.find("input_type").text}  # type: ignore[union-attr]
            for attr in label.iter("attribute")
        ]
    attribute_types = {a["name"]: a["input_type"] for attrs in labels.values() for a in attrs}
    label_names = list(labels)

    items: OrderedDict[str, dict[str, Any]] = OrderedDict()
    shape = image = attributes = None
    shapes = ("box", "polygon", "polyline", "points", "mask")
    for ev, el in context:
        if ev == "start":
            if el.tag == "image":
                image = {"name": el.attrib.get("name"), "frame": el.attrib["id"]}
                image.update(width=el.attrib.get("width"), height=el.attrib.get("height"))
            elif el.tag in shapes and image:
                attributes = {}
                shape = {"type": None, "attributes": attributes}
        elif ev == "end":
            if el.tag == "attribute" and attributes is not None:
                attr_value: Any = el.text or ""
                attr_type = attribute_types.get(el.attrib["name"])
                if el.text in ["true", "false"]:
                    attr_value = attr_value == "true"
                elif attr_type is not None and attr_type != "text":
                    with contextlib.suppress(ValueError):
                        attr_value = float(attr_value)
                attributes[el.attrib["name"]] = attr_value
            elif el.tag in shapes and shape is not None and image is not None:
                points: list[float] = []
                for pair in el.attrib["points"].split(";"):
                    points.extend(map(float, pair.split(",")))
                shape["attributes"]["occluded"] = el.attrib.get("occluded") == "1"
                annotation = {
                    "type": el.tag,
                    "label": label_names.index(el.attrib.get("label")),
                    "points": points,
                    "group": int(el.attrib.get("group_id", 0)),
                    "z_order": int(el.attrib.get("z_order", 0)),
                    "attributes": shape["attributes"],
                }
                items.setdefault(image["frame"], {"annotations": []})["annotations"].append(annotation)
                shape = attributes = None
            elif el.tag == "image" and image is not None:
                desc = items.setdefault(image["frame"], {"annotations": []})
                desc.update(name=image["name"], width=image["width"], height=image["height"])
                image = None
            el.clear()

    out = []
    for frame, desc in items.items():
        name = desc["name"]
        if not os.path.exists(os.path.join(images_dir, name)):
            raise RuntimeError(f"DatasetImportError: Cannot find an image which has name={name}.")
        out.append(
            {"id": os.path.splitext(name)[0], "frame": int(frame), **desc, "annotations": desc["annotations"]}
        )
    return {
        "labels": label_names,
        "attributes": {label: {a["name"] for a in attrs} for label, attrs in labels.items()},
        "items": out,
    }
