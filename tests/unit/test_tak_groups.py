"""TAK groups are the release scopes: the relay rule (`Peer.reaches`), the groups a device is
in and sends on (`cmcc.tak.groups`) and the release policy's `may_see` agree for every pair of
devices of member and non-member organizations under every marking; the mesh carries what the
rule needs; TAK Server's JSON for /Marti/api/groups/all."""

from __future__ import annotations

import itertools

from cmcc.core.releasability import Marking, Viewer, may_see
from cmcc.cot.mesh import _peer, _peer_fields
from cmcc.cot.server import Peer
from cmcc.tak import groups

ORGS = [(1, "GBR", True), (2, "IDN", True), (3, "FRA", True), (4, "NGO-1", False)]
MARKINGS = ["public", "mission", "owner", "rel:GBR", "rel:NGO-1", "rel:GBR,FRA", "rel:IDN"]


def devices() -> list[Peer]:
    return [
        Peer(org_id, code, member, f"{code}-{text}", marking=Marking.parse(text))
        for (org_id, code, member), text in itertools.product(ORGS, MARKINGS)
    ]


def test_the_relay_rule_is_the_release_policy_and_the_groups_say_the_same() -> None:
    reached = 0
    for sender, receiver in itertools.product(devices(), devices()):
        assert sender.org_id is not None and sender.org_code is not None
        assert receiver.org_code is not None
        viewer = Viewer(receiver.org_id, receiver.org_code, receiver.member)
        policy = may_see(sender.marking, sender.org_id, viewer)
        ours = groups.membership(sender.org_code, sender.member, sender.marking)
        theirs = groups.membership(receiver.org_code, receiver.member, receiver.marking)
        assert sender.reaches(receiver) is policy, (sender, receiver)
        assert ours.reaches(theirs) is policy, (sender, receiver)
        reached += policy
    assert 0 < reached < len(devices()) ** 2


def test_examples_of_the_rule() -> None:
    idn = {m: Peer(2, "IDN", True, f"idn-{m}", marking=Marking.parse(m)) for m in MARKINGS}
    gbr = Peer(1, "GBR", True, "gbr-1")
    fra = Peer(3, "FRA", True, "fra-1")
    ngo = Peer(4, "NGO-1", False, "ngo-1")
    idn_2 = Peer(2, "IDN", True, "idn-2")
    stranger = Peer(None, None)  # an unregistered device
    assert [r.device_uid for r in (gbr, fra, ngo, idn_2) if idn["mission"].reaches(r)] == [
        "gbr-1",
        "fra-1",
        "idn-2",
    ]
    assert [r.device_uid for r in (gbr, fra, ngo, idn_2) if idn["rel:GBR"].reaches(r)] == [
        "gbr-1",
        "idn-2",
    ]
    assert [r.device_uid for r in (gbr, fra, ngo, idn_2) if idn["owner"].reaches(r)] == ["idn-2"]
    # Nobody receives an unregistered device's traffic, and it receives nobody's.
    assert not stranger.reaches(gbr) and not idn["public"].reaches(stranger)
    assert not idn["mission"].reaches(None)


def test_the_mesh_carries_what_the_rule_needs() -> None:
    for peer in devices():
        assert _peer(_peer_fields(peer)) == peer
        assert _peer(_peer_fields(peer)).reaches(Peer(1, "GBR", True)) is peer.reaches(  # type: ignore[union-attr]
            Peer(1, "GBR", True)
        )
    assert _peer(_peer_fields(None)) is None
    assert _peer(_peer_fields(Peer(None, None, device_uid="stranger"))) is None


def test_groups_all_in_tak_servers_shape() -> None:
    member = groups.membership("IDN", True, Marking.parse("rel:GBR"))
    doc = groups.document(member, "cmcc", "2026-12-06")
    assert doc["version"] == "3" and doc["type"] == "com.bbn.marti.remote.groups.Group"
    assert doc["nodeId"] == "cmcc"
    pairs = [(g["name"], g["direction"]) for g in doc["data"]]
    assert pairs == [
        ("__ANON__", "IN"),
        ("mission", "IN"),
        ("IDN", "IN"),
        ("GBR", "OUT"),
        ("IDN", "OUT"),
    ]
    bits = {g["name"]: g["bitpos"] for g in doc["data"]}
    assert sorted(bits.values()) == [0, 1, 2, 3]
    assert all(g["type"] == "SYSTEM" and g["active"] is True for g in doc["data"])
    assert all(
        set(g) == {"name", "direction", "created", "type", "bitpos", "active", "description"}
        for g in doc["data"]
    )
    outsider = groups.membership("NGO-1", False, Marking.parse("mission"))
    assert outsider.in_groups == ("__ANON__", "NGO-1")
    assert outsider.out_groups == ("mission", "NGO-1")
