"""`cmcc tak ca ...`, `cmcc tak cert ...` and `cmcc tak crl` against both backends: the CA made
once, a device's certificate and encrypted key written out, listed, renewed, revoked, and the
revocation list that names them; refusals that write nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import func, select
from typer.testing import CliRunner

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.cli import app, common
from cmcc.cot import devices
from cmcc.tak.models import TakCertificate
from tests.factories import org

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal for the table's rows (the consoles are made once, at import, and keep
    the width they found then; under xdist that is 80 columns whatever COLUMNS says later)."""
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", 250)


def _env(platform: Platform, home: Path, **extra: str) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
        "CMCC_HOME": str(home),
        "COLUMNS": "250",  # the table's serial numbers on one line
        **extra,
    }


def _cmcc(platform: Platform, home: Path, *args: str, **extra: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=_env(platform, home, **extra))
    return result.exit_code, result.output


def _devices(platform: Platform) -> None:
    org(platform, "IDN")
    org(platform, "FRA")
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        devices.register(session, "ANDROID-idn:1", "IDN")
        devices.register(session, "fra-1", "FRA")


def _certificates(platform: Platform) -> dict[str, TakCertificate]:
    with platform.unit_of_work(Principal.system_operator()) as session:
        return {r.serial: r for r in session.scalars(select(TakCertificate))}


def test_the_ca_is_made_once_and_shown(platform: Platform, tmp_path: Path) -> None:
    code, out = _cmcc(platform, tmp_path, "tak", "ca", "init", "--common-name", "Test CA")
    assert code == 0, out
    assert "tak-ca.passphrase" in out.replace("\n", "")
    assert (tmp_path / "tak-ca.passphrase").stat().st_mode & 0o777 == 0o600
    code, again = _cmcc(platform, tmp_path, "tak", "ca", "init")
    assert code == 1
    assert "exists already" in again
    code, shown = _cmcc(platform, tmp_path, "tak", "ca", "show")
    assert code == 0 and "Test CA" in shown
    code, pem = _cmcc(platform, tmp_path, "tak", "ca", "show", "--pem")
    fingerprint = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256())
    assert fingerprint.hex(":").upper() in shown, shown + "\n" + fingerprint.hex(":").upper()


def test_a_device_certificate_written_out_with_its_key_encrypted(
    platform: Platform, tmp_path: Path
) -> None:
    _devices(platform)
    home, out = tmp_path / "home", tmp_path / "out"
    assert _cmcc(platform, home, "tak", "ca", "init")[0] == 0
    code, text = _cmcc(platform, home, "tak", "cert", "issue", "ANDROID-idn:1", "--out", str(out))
    assert code == 0, text
    phrase = re.search(r"shown once.*?: (\S+)", text.replace("\n", " "))
    assert phrase is not None
    cert_file, key_file = out / "ANDROID-idn_1.pem", out / "ANDROID-idn_1.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    key = serialization.load_pem_private_key(key_file.read_bytes(), phrase.group(1).encode())
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]

    # a passphrase of the operator's, from a file: not printed
    (tmp_path / "phrase").write_text("correct horse battery\n")
    code, text = _cmcc(
        platform,
        home,
        *("tak", "cert", "issue", "fra-1", "--out", str(out), "--days", "30"),
        *("--passphrase-file", str(tmp_path / "phrase")),
    )
    assert code == 0, text
    assert "shown once" not in text
    serialization.load_pem_private_key((out / "fra-1.key").read_bytes(), b"correct horse battery")
    fra = x509.load_pem_x509_certificate((out / "fra-1.pem").read_bytes())
    assert (fra.not_valid_after_utc - fra.not_valid_before_utc).days == 30


def test_refusals_write_nothing(platform: Platform, tmp_path: Path) -> None:
    _devices(platform)
    home, out = tmp_path / "home", tmp_path / "out"
    code, text = _cmcc(platform, home, "tak", "cert", "issue", "fra-1", "--out", str(out))
    assert code == 1 and "cmcc tak ca init" in text  # no CA yet
    assert _cmcc(platform, home, "tak", "ca", "init")[0] == 0
    assert _cmcc(platform, home, "tak", "cert", "issue", "fra-1", "--out", str(out))[0] == 0
    before = _certificates(platform)
    code, text = _cmcc(platform, home, "tak", "cert", "issue", "fra-1", "--out", str(out))
    assert code == 1 and "exists" in text  # would overwrite its files
    code, text = _cmcc(platform, home, "tak", "cert", "issue", "nobody", "--out", str(out))
    assert code == 1 and "not registered" in text
    assert not (out / "nobody.pem").exists() and not (out / "nobody.key").exists()
    (tmp_path / "short").write_text("abc\n")
    code, text = _cmcc(
        platform,
        home,
        *("tak", "cert", "issue", "fra-1", "--out", str(tmp_path / "o2")),
        *("--passphrase-file", str(tmp_path / "short")),
    )
    assert code == 2 and "at least 8" in text
    code, text = _cmcc(platform, home, "tak", "cert", "revoke", "zz-not-hex")
    assert code == 1 and "not a serial" in text
    code, text = _cmcc(platform, home, "tak", "cert", "revoke")
    assert code == 2
    assert _certificates(platform).keys() == before.keys()


def test_list_renew_revoke_and_the_revocation_list(platform: Platform, tmp_path: Path) -> None:
    _devices(platform)
    home = tmp_path / "home"
    assert _cmcc(platform, home, "tak", "ca", "init")[0] == 0
    for uid, folder in (("ANDROID-idn:1", "a"), ("fra-1", "b"), ("fra-1", "c")):
        assert (
            _cmcc(platform, home, "tak", "cert", "issue", uid, "--out", str(tmp_path / folder))[0]
            == 0
        )
    first = _certificates(platform)
    idn_serial = next(s for s, r in first.items() if r.device_uid == "ANDROID-idn:1")

    code, listed = _cmcc(platform, home, "tak", "cert", "list")
    assert code == 0
    assert all(serial in listed for serial in first) and "3 certificate(s)" in listed
    # what an organization sees: its own certificates only
    code, idn_view = _cmcc(platform, home, "tak", "cert", "list", "--org", "IDN")
    assert code == 0 and idn_serial in idn_view and "1 certificate(s)" in idn_view
    assert not any(s in idn_view for s in first if s != idn_serial)

    code, text = _cmcc(
        platform, home, "tak", "cert", "renew", "fra-1", "--out", str(tmp_path / "d")
    )
    assert code == 0, text
    after = _certificates(platform)
    new = next(r for s, r in after.items() if s not in first)
    assert new.device_uid == "fra-1" and new.revoked_at is None
    assert {r.revocation_reason for r in after.values() if r.device_uid == "fra-1"} == {
        "superseded",
        None,
    }

    code, text = _cmcc(
        platform, home, "tak", "cert", "revoke", idn_serial.upper(), "--reason", "key_compromise"
    )
    assert code == 0, text
    code, text = _cmcc(platform, home, "tak", "cert", "revoke", "--device", "fra-1")
    assert code == 0 and new.serial in text
    code, text = _cmcc(platform, home, "tak", "cert", "revoke", "--device", "fra-1")
    assert code == 1 and "no certificate to revoke" in text
    code, listed = _cmcc(platform, home, "tak", "cert", "list", "--device", "fra-1")
    assert listed.count("superseded") == 2 and "unspecified" in listed

    crl_file = tmp_path / "crl.pem"
    assert _cmcc(platform, home, "tak", "crl", "--out", str(crl_file))[0] == 0
    crl = x509.load_pem_x509_crl(crl_file.read_bytes())
    code, pem = _cmcc(platform, home, "tak", "ca", "show", "--pem")
    ca = x509.load_pem_x509_certificate(pem.encode())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert {format(r.serial_number, "x") for r in crl} == set(_certificates(platform))


def test_a_ca_under_the_passphrase_setting_needs_it(platform: Platform, tmp_path: Path) -> None:
    _devices(platform)
    secret = {"CMCC_TAK_CA_PASSPHRASE": "a long passphrase of the operator"}
    code, text = _cmcc(platform, tmp_path, "tak", "ca", "init", **secret)
    assert code == 0 and "CMCC_TAK_CA_PASSPHRASE" in text
    assert not (tmp_path / "tak-ca.passphrase").exists()
    out = str(tmp_path / "out")
    code, text = _cmcc(platform, tmp_path, "tak", "cert", "issue", "fra-1", "--out", out)
    assert code == 1 and "CMCC_TAK_CA_PASSPHRASE" in text and "not set" in text
    wrong = {"CMCC_TAK_CA_PASSPHRASE": "not the one"}
    code, text = _cmcc(platform, tmp_path, "tak", "cert", "issue", "fra-1", "--out", out, **wrong)
    assert code == 1 and "does not open" in text
    with platform.unit_of_work(Principal.system_operator()) as session:
        assert session.scalar(select(func.count()).select_from(TakCertificate)) == 0
    code, text = _cmcc(platform, tmp_path, "tak", "cert", "issue", "fra-1", "--out", out, **secret)
    assert code == 0, text
