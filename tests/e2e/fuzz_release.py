"""A schemathesis check (loaded by tests/e2e/test_api_fuzz.py through SCHEMATHESIS_HOOKS): every
record in a successful answer is released to the caller. A record is any JSON object with an
`owner` (organization code) and a `releasability`; the caller's organization and membership
come from CMCC_FUZZ_ORG and CMCC_FUZZ_MEMBER. The rule is the reference one, `may_see`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import schemathesis

from cmcc.core.releasability import Marking, MarkingError, Viewer, may_see

OWN, OTHER = 1, 2  # the caller's organization, and any other (may_see compares ids)


def _records(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("owner"), str) and isinstance(value.get("releasability"), str):
            yield value
        for item in value.values():
            yield from _records(item)
    elif isinstance(value, list):
        for item in value:
            yield from _records(item)


@schemathesis.check
def released_to_caller(ctx: Any, response: Any, case: Any) -> bool | None:
    """No record the caller may not see comes back (the fuzz does not break release)."""
    if (
        not 200 <= response.status_code < 300
        or "json" not in response.headers.get("content-type", [""])[0]
    ):
        return None
    org = os.environ["CMCC_FUZZ_ORG"]
    viewer = Viewer(org_id=OWN, org_code=org, is_member=os.environ["CMCC_FUZZ_MEMBER"] == "1")
    for record in _records(response.json()):
        try:
            marking = Marking.parse(record["releasability"])
        except MarkingError:
            continue  # not a record's marking (a field that happens to bear the name)
        owner = OWN if record["owner"] == org else OTHER
        if not may_see(marking, owner, viewer):
            raise AssertionError(
                f"{org} got a record owned by {record['owner']} marked {marking}: "
                f"{str(record)[:300]}"
            )
    return None
