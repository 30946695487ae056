"""What the CLI prints is printed as it is: a fingerprint or a device uid is never turned into
an emoji by its `:ab:` (Rich's emoji codes are off)."""

from __future__ import annotations

import pytest

from cmcc.cli.common import console, err_console


def test_codes_between_colons_stay_text(capsys: pytest.CaptureFixture[str]) -> None:
    fingerprint = "DE:AB:DF:OK:12"
    console.print(f"SHA-256 fingerprint: {fingerprint}", soft_wrap=True)
    err_console.print(f"device ANDROID:ok:1 {fingerprint}", soft_wrap=True)
    out, err = capsys.readouterr()
    assert fingerprint in out
    assert f"ANDROID:ok:1 {fingerprint}" in err
