from __future__ import annotations

import pytest

from cmcc.core.releasability import Marking, MarkingError, MarkingKind, Viewer, may_see


@pytest.mark.parametrize(
    ("text", "kind", "codes"),
    [
        ("public", MarkingKind.PUBLIC, set()),
        ("Mission", MarkingKind.MISSION, set()),
        ("owner", MarkingKind.OWNER, set()),
        ("rel: idn , GBR", MarkingKind.REL, {"IDN", "GBR"}),
    ],
)
def test_parse(text: str, kind: MarkingKind, codes: set[str]) -> None:
    m = Marking.parse(text)
    assert m.kind is kind
    assert m.release_to == codes
    assert Marking.parse(str(m)) == m
    assert Marking.from_stored(m.kind.value, m.stored_list) == m


@pytest.mark.parametrize("text", ["", "secret", "rel:", "rel", "rel:G_B", "rel:a%b"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(MarkingError):
        Marking.parse(text)


def test_may_see() -> None:
    gbr, idn = Viewer(1, "GBR", True), Viewer(2, "IDN", True)
    ngo = Viewer(3, "MSF", False)
    public = Viewer.public()
    rel = Marking.parse("rel:GBR")
    assert may_see(Marking.parse("public"), 2, public)
    assert not may_see(Marking.parse("mission"), 2, public)
    assert may_see(Marking.parse("mission"), 2, gbr)
    assert not may_see(Marking.parse("mission"), 2, ngo)
    assert may_see(rel, 2, gbr)
    assert may_see(rel, 2, idn)
    assert not may_see(rel, 4, idn)
    assert may_see(Marking.parse("owner"), 3, ngo)
    assert not may_see(Marking.parse("owner"), 3, gbr)
    assert may_see(Marking.parse("rel:MSF"), 2, ngo)
