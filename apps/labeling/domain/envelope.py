"""The envelope around a command (REST body, websocket frame): the one reading of its id and expected seq,
for REST and the websocket alike; the command inside is read by `commands.parse_command`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .commands import Command, parse_command

MAX_SEQ = 2**31 - 1  # seqs are 32-bit signed integers in the database
MAX_COMMAND_ID = 64


@dataclass(frozen=True, slots=True)
class CommandEnvelope:
    command_id: str
    command: Command
    expected_seq: int | None = None


class InvalidEnvelope(Exception):
    """A field of the envelope is wrong (`field` names it). REST answers 400 invalid_request; the socket
    answers an invalid_frame error for a command_id (it has none to reply to) and a rejection otherwise."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_command_envelope(data: Mapping[str, Any]) -> CommandEnvelope:
    """{"command_id", "command", "expected_seq"?} -> CommandEnvelope: the one reading of a command's
    envelope, for REST and the websocket alike. Raises InvalidEnvelope, or Rejected for the command."""
    command_id = data.get("command_id")
    if not isinstance(command_id, str) or not 0 < len(command_id) <= MAX_COMMAND_ID:
        raise InvalidEnvelope(
            "command_id", f"command_id must be a string of 1 to {MAX_COMMAND_ID} characters."
        )
    expected = data.get("expected_seq")
    if expected is not None and (
        isinstance(expected, bool) or not isinstance(expected, int) or not 0 <= expected <= MAX_SEQ
    ):
        raise InvalidEnvelope("expected_seq", f"expected_seq must be an integer from 0 to {MAX_SEQ}.")
    return CommandEnvelope(command_id, parse_command(data.get("command")), expected)
