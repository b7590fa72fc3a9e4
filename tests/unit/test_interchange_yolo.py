"""YOLO segmentation: one normalised line per polygon that parses back to the vertices, and a data.yaml whose
names survive a YAML reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.interchange import Category, ImageRecord, Obj, yolo_class_index, yolo_data_yaml, yolo_lines
from apps.interchange.yolo import yolo_image_list, yolo_image_path, yolo_label_path
from tests.conftest import png_bytes
from tests.unit.reference_readers import ultralytics_dataset, ultralytics_image_files, ultralytics_label_paths
from tests.unit.test_interchange_model import CATEGORIES, require, sample_images, square


def parse(text: str) -> list[tuple[int, list[float]]]:
    lines = []
    for line in text.splitlines():
        number, *values = line.split()
        lines.append((int(number), [float(v) for v in values]))
    return lines


def test_lines_parse_back_to_the_vertices_within_a_millionth_of_the_size() -> None:
    index = yolo_class_index(CATEGORIES)
    for image in sample_images():
        parsed = parse(yolo_lines(image, index))

        rings = [(index[o.category_id], ring) for o in image.objects for ring in o.parts]
        assert len(parsed) == len(rings)
        for (number, values), (class_number, ring) in zip(parsed, rings, strict=True):
            assert number == class_number
            assert len(values) == 2 * len(ring)
            assert all(0.0 <= v <= 1.0 for v in values)
            for (x, y), (u, v) in zip(ring, zip(values[0::2], values[1::2], strict=True), strict=True):
                assert abs(u * image.width - x) <= 1e-6 * image.width
                assert abs(v * image.height - y) <= 1e-6 * image.height


def test_a_multi_part_object_is_one_line_per_part_with_its_class() -> None:
    image = ImageRecord(1, "a.jpg", 100, 50, (Obj(3, (square(0, 0, 10), square(50, 25, 25)), group="g"),))

    assert yolo_lines(image, yolo_class_index(CATEGORIES)) == (
        "1 0 0 0.1 0 0.1 0.2 0 0.2\n1 0.5 0.5 0.75 0.5 0.75 1 0.5 1\n"
    )


def test_classes_are_zero_based_in_category_order() -> None:
    assert yolo_class_index(CATEGORIES) == {7: 0, 3: 1, 12: 2}


def test_an_image_without_objects_has_an_empty_label_file() -> None:
    assert yolo_lines(ImageRecord(1, "a.jpg", 10, 10), yolo_class_index(CATEGORIES)) == ""


def test_values_are_written_with_at_most_six_decimals() -> None:
    image = ImageRecord(1, "a.jpg", 3, 7, (Obj(7, (((1, 1), (2, 1), (2, 6)),)),))

    assert yolo_lines(image, {7: 0}) == "0 0.333333 0.142857 0.666667 0.142857 0.666667 0.857143\n"


def test_data_yaml_names_every_class_by_index() -> None:
    text = yolo_data_yaml(CATEGORIES)

    assert text == 'train: images\nval: images\nnames:\n  0: "cat"\n  1: "dog"\n  2: "traffic light"\n'


@pytest.mark.parametrize(
    "name", ["yes", "null", "3", "a: b", "- x", '"quoted"', "back\\slash", "tab\there", "日本 🐈", "#hash"]
)
def test_data_yaml_names_stay_the_same_strings_through_a_yaml_reader(name: str) -> None:
    yaml = require("yaml")

    data = yaml.safe_load(yolo_data_yaml([Category(1, "cat", "#000000"), Category(2, name, "#000000")]))

    assert data == {"train": "images", "val": "images", "names": {0: "cat", 1: name}}


# As Ultralytics reads it (tests/unit/reference_readers.py) ------------------------------------------------


def write_export(
    root: Path, images: list[ImageRecord], categories: tuple[Category, ...] = CATEGORIES
) -> None:
    """The files of a YOLO export with images, laid out as export.py lays them out."""
    index = yolo_class_index(categories)
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(yolo_data_yaml(categories), encoding="utf-8")
    paths = []
    for image in images:
        image_path = yolo_image_path(image.file_name)
        paths.append(image_path)
        (root / image_path).parent.mkdir(parents=True, exist_ok=True)
        (root / image_path).write_bytes(png_bytes(image.width, image.height))
        label = root / yolo_label_path(image_path)
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(yolo_lines(image, index), encoding="utf-8")
    (root / "train.txt").write_text(yolo_image_list(paths), encoding="utf-8")


EXPORTED = [
    ImageRecord(1, "a.png", 40, 20, (Obj(7, (square(0, 0, 10),)),)),
    ImageRecord(2, "site/images/b.png", 40, 20, (Obj(3, (square(5, 5, 10),)),)),
    ImageRecord(3, "images/c.png", 40, 20),
]


@pytest.mark.parametrize("yaml_given_as", ["absolute", "relative"])
def test_ultralytics_finds_the_images_and_their_labels_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_given_as: str
) -> None:
    require("yaml")
    export = tmp_path / "exp"
    elsewhere = tmp_path / "work" / "runs"
    elsewhere.mkdir(parents=True)
    write_export(export, EXPORTED)
    (elsewhere / "images").mkdir()  # a folder of the same name where training is started must not be taken
    monkeypatch.chdir(elsewhere)
    yaml_file = str(export / "data.yaml") if yaml_given_as == "absolute" else "../../exp/data.yaml"

    data = ultralytics_dataset(yaml_file, datasets_dir=tmp_path / "datasets")

    assert Path(data["train"]) == Path(data["val"]) == export / "images"
    found = ultralytics_image_files(data["train"])
    assert sorted(found) == sorted(str(export / yolo_image_path(i.file_name)) for i in EXPORTED)
    labels = ultralytics_label_paths(found)
    expected = {str(export / yolo_image_path(i.file_name)): i for i in EXPORTED}
    index = yolo_class_index(CATEGORIES)
    for image_path, label_path in zip(found, labels, strict=True):
        assert Path(label_path).read_text(encoding="utf-8") == yolo_lines(expected[image_path], index)


def test_ultralytics_reads_train_txt_relative_to_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "exp"
    write_export(export, EXPORTED)
    monkeypatch.chdir(tmp_path)

    found = ultralytics_image_files(str(export / "train.txt"))

    assert sorted(found) == sorted(str(export / yolo_image_path(i.file_name)) for i in EXPORTED)
    assert all(Path(label).is_file() for label in ultralytics_label_paths(found))


@pytest.mark.parametrize(
    ("image_path", "label_path"),
    [
        ("images/a.jpg", "labels/a.txt"),
        ("images/x/y/a.b.png", "labels/x/y/a.b.txt"),
        ("images/site/images/a.jpg", "images/site/labels/a.txt"),
        ("images/images/a.jpg", "images/labels/a.txt"),
    ],
)
def test_the_label_path_is_the_one_ultralytics_derives_from_the_image_path(
    image_path: str, label_path: str
) -> None:
    assert yolo_label_path(image_path) == label_path
    assert ultralytics_label_paths([f"/root/{image_path}"]) == [f"/root/{label_path}"]


def test_void_regions_are_left_out_and_their_class_is_no_yolo_class() -> None:
    categories = (*CATEGORIES, Category(20, "__ignore__", "#e0e0c0"), Category(21, "zebra", "#000000"))
    index = yolo_class_index(categories)
    image = ImageRecord(1, "a.jpg", 10, 10, (Obj(20, (square(0, 0, 5),)), Obj(21, (square(5, 5, 5),))))

    assert index == {7: 0, 3: 1, 12: 2, 21: 3}
    assert yolo_lines(image, index, {20}) == "3 0.5 0.5 1 0.5 1 1 0.5 1\n"
    assert "__ignore__" not in yolo_data_yaml(categories)
    assert '3: "zebra"' in yolo_data_yaml(categories)
