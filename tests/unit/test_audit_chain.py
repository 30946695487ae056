from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cmcc.audit.chain import canonical_json, entry_hash


def test_hash_depends_on_every_field_and_the_previous_hash() -> None:
    base = {
        "seq": 1,
        "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "actor": "a",
        "action": "create",
        "entity": "pledges",
        "record_id": "1",
        "changes": "{}",
        "prev_hash": "0" * 64,
    }
    h = entry_hash(**base)  # type: ignore[arg-type]
    for key, other in (
        ("seq", 2),
        ("actor", "b"),
        ("action", "update"),
        ("entity", "states"),
        ("record_id", "2"),
        ("changes", "{ }"),
        ("prev_hash", "1" * 64),
        ("at", dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC)),
    ):
        assert entry_hash(**{**base, key: other}) != h, key  # type: ignore[arg-type]


def test_canonical_json_is_stable() -> None:
    a = canonical_json({"b": Decimal("1.50"), "a": dt.date(2026, 2, 19)})
    assert a == '{"a":"2026-02-19","b":"1.50"}'
