"""The documentation names every setting, CLI command and endpoint, and nothing that is gone.

In the manner of Datasette's documentation tests: adding a setting, a command, an option or an
endpoint without documenting it fails here, and so does removing one that the docs still name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import SecretStr

from cmcc.api.app import create_app
from cmcc.bootstrap import bootstrap
from cmcc.cli import app as cli_app
from cmcc.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
HEADING = re.compile(r"^(#+)\s")


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# --- settings ---------------------------------------------------------------------------------


def _settings_rows() -> dict[str, list[str]]:
    """The rows of the settings table: variable -> cells."""
    rows = {}
    for line in _doc("operations/settings.md").splitlines():
        if match := re.match(r"^\| `(CMCC_[A-Z_]+)` \|", line):
            rows[match.group(1)] = [cell.strip() for cell in line.strip("|").split(" | ")]
    return rows


def _default_shown(value: Any, cell: str) -> bool:
    """Does the table's default cell show this default (`unset` for None)?"""
    if value is None:
        return cell == "unset"
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    return cell.startswith(f"`{text}`")


def test_every_setting_is_documented_with_its_default() -> None:
    rows = _settings_rows()
    problems = []
    for name, field in Settings.model_fields.items():
        env = f"CMCC_{name.upper()}"
        if env not in rows:
            problems.append(f"{env} has no row in the settings table")
        elif not _default_shown(field.default, rows[env][1]):
            problems.append(f"{env}: the default {field.default!r} is not the one shown")
    assert not problems, "docs/operations/settings.md: " + "; ".join(problems)


def test_settings_page_names_no_unknown_setting() -> None:
    known = {f"CMCC_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"CMCC_[A-Z_]*[A-Z]", _doc("operations/settings.md")))
    assert named <= known, f"docs/operations/settings.md names unknown settings: {named - known}"


# --- CLI --------------------------------------------------------------------------------------


def _commands(command: Any, words: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command and sub-command below the root, as (`cmcc words`, command). Groups are
    recognized by their `commands` (Typer ships its own copy of click's classes)."""
    if words:
        yield "cmcc " + " ".join(words), command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _commands(sub, (*words, name))


COMMANDS = dict(_commands(typer.main.get_command(cli_app)))


def _options(command: Any) -> list[str]:
    return [
        opt
        for param in command.params
        if param.param_type_name == "option" and not getattr(param, "hidden", False)
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    ]


def _sections(text: str) -> dict[str, str]:
    """Each heading that names a command, with the text up to the next heading of its level
    or higher."""
    lines = text.splitlines()
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        heading = HEADING.match(line)
        named = re.search(r"`(cmcc [a-z][a-z -]*)`", line)
        if not (heading and named):
            continue
        level = len(heading.group(1))
        end = next(
            (
                j
                for j in range(i + 1, len(lines))
                if (h := HEADING.match(lines[j])) and len(h.group(1)) <= level
            ),
            len(lines),
        )
        out[named.group(1).strip()] = "\n".join(lines[i:end])
    return out


def test_every_command_and_option_is_documented() -> None:
    assert {"cmcc init", "cmcc scenario load"} <= set(COMMANDS), "the CLI walk found nothing"
    sections = _sections(_doc("cli.md"))
    problems = []
    for words, command in COMMANDS.items():
        if words not in sections:
            problems.append(f"no heading for `{words}`")
            continue
        problems.extend(
            f"`{words}`: option {opt} is not described"
            for opt in _options(command)
            if opt not in sections[words]
        )
    assert not problems, "docs/cli.md: " + "; ".join(problems)


def test_cli_page_names_no_unknown_command() -> None:
    unknown = set(_sections(_doc("cli.md"))) - set(COMMANDS)
    assert not unknown, f"docs/cli.md has headings for commands that do not exist: {unknown}"


# --- API --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """`METHOD /path` of every operation in the OpenAPI description (no database is opened)."""
    platform = bootstrap(Settings(home=tmp_path_factory.mktemp("docs")))
    try:
        paths = create_app(platform).openapi()["paths"]
    finally:
        platform.dispose()
    return {
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method in operations
        if method in HTTP_METHODS
    }


def test_every_endpoint_is_documented(endpoints: set[str]) -> None:
    assert "GET /api/v1/health" in endpoints, "the OpenAPI walk found nothing"
    text = _doc("api.md")
    missing = sorted(e for e in endpoints if f"`{e}`" not in text)
    assert not missing, f"docs/api.md does not list: {missing}"


def test_api_page_names_no_unknown_endpoint(endpoints: set[str]) -> None:
    named = {
        f"{method} {path}"
        for method, path in re.findall(r"`(GET|PUT|POST|PATCH|DELETE) (/[^`\s?]*)`", _doc("api.md"))
    }
    unknown = sorted(named - endpoints)
    assert not unknown, f"docs/api.md lists endpoints that do not exist: {unknown}"
