"""The CVAT writer's <attribute> elements are made once per (name, value) and kept: a value of another type
that Python calls equal (True, 1, 1.0) still gets its own text."""

from __future__ import annotations

from apps.interchange.cvat import _attribute_element


def test_equal_values_of_other_types_are_written_each_as_its_own() -> None:
    assert _attribute_element("n", True) == '\n      <attribute name="n">true</attribute>'
    assert _attribute_element("n", 1.0) == '\n      <attribute name="n">1</attribute>'
    assert _attribute_element("n", 1.5) == '\n      <attribute name="n">1.5</attribute>'
    assert _attribute_element("n", True) == '\n      <attribute name="n">true</attribute>'


def test_names_and_text_are_escaped() -> None:
    assert _attribute_element('a"<', "x&y") == "\n      <attribute name='a\"&lt;'>x&amp;y</attribute>"
