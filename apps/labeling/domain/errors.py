"""The typed refusal that decide and the command parser raise."""

from __future__ import annotations


class Rejected(Exception):
    """A command that cannot be applied; nothing is appended.

    `code` is stable and machine-readable (clients switch on it); `message` is for people.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
