"""`cmcc demo` prints each demo user on one line of at most 80 columns (a token is never
wrapped), and writes the same lines to a file only its owner may read."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.cli.demo import CREDENTIALS_FILE, DEMO_USERS

LOGIN = re.compile(r"^(\S+) +(\S{16}) +(cmcc_[A-Za-z0-9_-]{43})$")


def _demo(platform: Platform, home: Path) -> tuple[list[str], Path]:
    env = {
        "CMCC_HOME": str(home),
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
        "COLUMNS": "80",
    }
    done = CliRunner().invoke(app, ["demo", "--no-serve"], env=env)
    assert done.exit_code == 0, done.output
    path = (home / CREDENTIALS_FILE).resolve()
    assert f"The same lines are in {path}" in done.output
    return [line for line in done.output.splitlines() if LOGIN.match(line)], path


def test_one_user_per_line_and_a_file_for_the_owner_only(
    platform: Platform, tmp_path: Path
) -> None:
    printed, path = _demo(platform, tmp_path)
    logins = {m.group(1): (m.group(2), m.group(3)) for m in map(LOGIN.match, printed) if m}
    assert list(logins) == [name for name, _org, _role in DEMO_USERS]
    assert all(len(line) <= 80 for line in printed)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [line for line in path.read_text().splitlines() if LOGIN.match(line)] == printed
    with TestClient(create_app(platform)) as client:
        for name, (_password, token) in logins.items():  # each line holds a whole token
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["username"] == name

    path.chmod(0o644)  # a file left readable by others is closed again on the next run
    again, _ = _demo(platform, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert again != printed
    with TestClient(create_app(platform)) as client:
        old = logins["staff"][1]
        assert (
            client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code
            == 401
        )
