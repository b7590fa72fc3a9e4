"""Request body parsers: DRF's JSON parser, with absurdly deep nesting answered as malformed JSON.

Python's json module recurses once per level of nesting; about a thousand `[` raise RecursionError, which
DRF's parser does not catch, so such a body was a 500 HTML page (anonymously too, on the token route).
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


# The parsers of a view that takes file uploads (multipart, field `files`) as well as JSON options.
UPLOAD_PARSERS = [JSONParser, parsers.MultiPartParser]
