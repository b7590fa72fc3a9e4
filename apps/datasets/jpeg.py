"""A JPEG's size from its markers, without Pillow: the import's header read of a photo (apps/datasets/imports.py).

Pillow's `open` of a JPEG cost 1.5-2x the reading and hashing of the file (it parses every marker segment
through its plugin machinery); walking the segments up to the start of scan costs a few struct reads. The
walk is as strict as Pillow's open where it matters: markers in sequence, each segment whole, a frame
header (SOFn) before the scan. Anything it does not expect (no frame header, a height left to a DNL marker,
a segment cut short) answers None, and the caller asks Pillow, which refuses the file with its reason or
reads it; damage in the entropy-coded data after the scan header shows when the thumbnail is made, as it
does with Pillow's lazy open.
"""

from __future__ import annotations

from struct import unpack_from

# Start-of-frame markers (C0-CF but DHT C4, JPG C8, DAC CC): the frame header holds the size.
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset((0x01, *range(0xD0, 0xD8)))  # TEM, RST0-7: no length
_START_OF_SCAN = 0xDA


def jpeg_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of the JPEG `content`, or None where Pillow is to decide."""
    if not content.startswith(b"\xff\xd8"):
        return None
    size: tuple[int, int] | None = None
    at, end = 2, len(content)
    while at + 4 <= end:
        if content[at] != 0xFF:
            return None  # not a marker where one must be
        marker = content[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        (length,) = unpack_from(">H", content, at + 2)
        if length < 2 or at + 2 + length > end:
            return None  # a segment cut short
        if marker in _FRAME_MARKERS:
            if length < 8 or size is not None:
                return None
            height, width = unpack_from(">HH", content, at + 5)
            if not width or not height:
                return None  # a height given later by DNL, or nonsense: Pillow's call
            size = (width, height)
        elif marker == _START_OF_SCAN:
            return size
        at += 2 + length
    return None
