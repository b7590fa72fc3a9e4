#!/usr/bin/env python3
"""Verify a polylog event log exported as JSON Lines (GET /api/items/<id>/log/ or /api/jobs/<id>/log/).

Standard library only, so an auditor can run it anywhere, apart from polylog:

    python3 verify_log.py job-7-log.jsonl        # or - to read standard input

Exit code 0 when every stream's hash chain holds; 1 with the first bad item and seq otherwise.

Each line is {"item_id", "seq", "type", "schema_version", "payload", "actor", "created_at",
"command_id", "hash"}. Per item, seq runs 1, 2, 3, ... and

    hash = sha256(prev_hash + body)   (lower-case hex; prev_hash is 64 zeros for seq 1)
    body = JSON of [item_id, seq, type, schema_version, payload, actor, created_at, command_id]
           with sorted keys, no spaces, not ASCII-escaped, encoded as UTF-8

so a changed byte anywhere in an event, or a removed or reordered event, breaks the chain at that event.
A log cut off after an event verifies; compare each item's last seq and hash (printed with --heads)
with a copy kept elsewhere to notice that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable

GENESIS_HASH = "0" * 64
FIELDS = ("item_id", "seq", "type", "schema_version", "payload", "actor", "created_at", "command_id", "hash")


def event_hash(prev_hash: str, event: dict) -> str:
    body = json.dumps(
        [
            event["item_id"],
            event["seq"],
            event["type"],
            event["schema_version"],
            event["payload"],
            event["actor"],
            event["created_at"],
            event["command_id"],
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class Bad(Exception):
    """The first problem found; its message names the line, item and seq."""


def verify(lines: Iterable[bytes]) -> dict[int, tuple[int, str]]:
    """Check every line; return {item_id: (last seq, last hash)}, or raise Bad at the first problem."""
    heads: dict[int, tuple[int, str]] = {}
    current = None
    prev, expected = GENESIS_HASH, 1
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError as error:
            raise Bad(f"line {number}: not JSON ({error})") from None
        missing = [name for name in FIELDS if not isinstance(event, dict) or name not in event]
        if missing:
            raise Bad(f"line {number}: missing {', '.join(missing)}")
        item_id, seq = event["item_id"], event["seq"]
        where = f"line {number}: item {item_id} seq {seq}"
        if item_id != current:
            if item_id in heads:
                raise Bad(f"{where}: item {item_id} appears again after other items")
            current, prev, expected = item_id, GENESIS_HASH, 1
        if seq != expected:
            raise Bad(f"{where}: expected seq {expected} (an event is missing or out of order)")
        try:
            computed = event_hash(prev, event)
        except (TypeError, ValueError) as error:
            raise Bad(f"{where}: cannot be hashed ({error})") from None
        if computed != event["hash"]:
            raise Bad(f"{where}: hash mismatch, the event was altered")
        prev, expected = event["hash"], seq + 1
        heads[item_id] = (seq, prev)
    return heads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify the hash chains of a polylog JSON Lines event log.")
    parser.add_argument("log", help="the exported log file, or - for standard input")
    parser.add_argument("--heads", action="store_true", help="print each item's last seq and hash")
    args = parser.parse_args(argv)
    try:
        if args.log == "-":
            heads = verify(sys.stdin.buffer)
        else:
            with open(args.log, "rb") as log:
                heads = verify(log)
    except Bad as bad:
        print(f"FAILED {bad}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"FAILED cannot read {args.log}: {error}", file=sys.stderr)
        return 1
    events = sum(seq for seq, _ in heads.values())
    if args.heads:
        for item_id, (seq, last) in heads.items():
            print(f"item {item_id} seq {seq} {last}")
    print(f"OK {events} events in {len(heads)} items verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
