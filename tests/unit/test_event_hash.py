"""The hash chain's text (docs/events.md): sha256 over the previous hash and the canonical JSON of
[item_id, seq, type, schema_version, payload, actor_id, created_at, command_id]. A new row's payload is
encoded once and the body composed around it (store/chain.py); composed or not, the text is the one the
document spells out, so every stored hash still checks."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from apps.labeling.store import event_hash
from apps.labeling.store.chain import canonical, iso

leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
payloads = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
)


def documented(prev: str, fields: list) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256((prev + body).encode()).hexdigest()


@given(
    payload=payloads,
    seq=st.integers(1, 10**9),
    kind=st.text(max_size=12),
    command_id=st.none() | st.text(max_size=12),
    micros=st.integers(0, 10**12),
)
def test_the_hash_of_a_payload_encoded_once_is_the_documented_one(payload, seq, kind, command_id, micros):
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    fields = dict(
        item_id=7,
        seq=seq,
        type=kind,
        schema_version=2,
        payload=payload,
        actor_id=3,
        created_at=created,
        command_id=command_id,
    )
    expected = documented("a" * 64, [7, seq, kind, 2, payload, 3, iso(created), command_id])
    assert event_hash("a" * 64, **fields) == expected
    assert event_hash("a" * 64, **fields, payload_json=canonical(payload)) == expected
