"""A TAK certificate authority for tests: the CA passphrase file in the test's own folder
(on PostgreSQL too, whose platform has no folder of its own), never in the working tree."""

from __future__ import annotations

from pathlib import Path

from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.tak import pki


def with_ca(platform: Platform, home: Path, *, common_name: str = "CMCC Test CA") -> Platform:
    """`platform` with a CA (its passphrase file under `home`)."""
    platform.settings.home = home
    with operator_session(platform, write=True, actor="system:test") as session:
        pki.init_authority(session, common_name=common_name, lifetime_days=3650)
    return platform
