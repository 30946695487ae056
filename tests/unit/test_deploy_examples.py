"""The examples in deploy/ run commands that exist, with options that exist (a renamed option
would leave an operator's Procfile or systemd unit broken)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcc.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in [DEPLOY / "Procfile", *sorted((DEPLOY / "systemd").glob("*.service"))]:
        for line in path.read_text().splitlines():
            if line.startswith("#") or "cmcc " not in line:
                continue
            words = shlex.split(line.replace("%i", "8001").replace("'", " "))
            at = max(i for i, w in enumerate(words) if w == "cmcc" or w.endswith("/bin/cmcc"))
            found.append((f"{path.name}: {line.strip()}", words[at + 1 :]))
    return found


def test_the_procfile_runs_two_of_each_process() -> None:
    procfile = [args[0] for where, args in _commands() if where.startswith("Procfile")]
    assert sorted(procfile) == ["gateway", "gateway", "serve", "serve", "worker", "worker"]


@pytest.mark.parametrize(("where", "args"), _commands(), ids=lambda v: str(v)[:60])
def test_each_example_command_parses(where: str, args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"{where}: {result.output}"
