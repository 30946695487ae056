"""The users' words for codes (one table for every page) and the names of records."""

from __future__ import annotations

import re

from cmcc.funding.domain import phase_label
from cmcc.web.words import CODED, incident_ref, label, table


def test_every_code_a_page_shows_reads_as_words() -> None:
    words = table()
    for enum in CODED:
        for member in enum:
            shown = words[str(member.value)]
            assert "_" not in shown and shown[:1].isupper(), (enum.__name__, shown)
    assert label("ceasefire_violation_fire") == "Ceasefire violation: fire"
    assert label("gaza_strip") == "Gaza Strip"
    assert label("eod_escort") == "EOD escort"  # not in the table: its words, with acronyms
    assert label("handed_over") == "Handed over"


def test_incidents_are_named_by_a_readable_reference() -> None:
    assert incident_ref(12) == "INC-12"
    assert re.fullmatch(r"INC-\d+", incident_ref(1))


def test_a_phase_is_named_once() -> None:
    assert (
        phase_label("PSE-RRP-2025", 1, "Phase 1: early recovery (first 6 months)")
        == "PSE-RRP-2025 phase 1: Early recovery (first 6 months)"
    )
    assert phase_label("P", 2, "phase 2 \u2013 recovery") == "P phase 2: Recovery"
    assert phase_label("P", 3, "Reconstruction") == "P phase 3: Reconstruction"
    assert phase_label("P", 1, "Phase 10 onwards") == "P phase 1: Phase 10 onwards"
    assert phase_label("P", 1, "Phase 1") == "P phase 1"


def test_command_words() -> None:
    assert label("opcon") == "OPCON (operational control)"
    assert label("national") == "National command only"
    assert label("refused_by_nation") == "Refused by the nation"
    assert label("in_progress") == "In progress"
    assert label("contingent") == "National contingent"
    assert label("perstat") == "PERSTAT (personnel)"
    assert label("battalion") == "Battalion"
    assert label("days_of_supply") == "Days of supply"
