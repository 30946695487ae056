"""Where a scenario's files are: a folder on disk, or a scenario packaged with CMCC. Reads files
only (no database), so the exercise driver can read a scenario's script as the loader does."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from cmcc.core.errors import InvalidInput, NotFound


def scenario_dir(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_dir():
        return path
    packaged = resources.files("cmcc.scenarios").joinpath(name_or_path)
    if packaged.is_dir():
        return Path(str(packaged))
    raise NotFound(f"no scenario named {name_or_path!r} and no such folder")


def read_toml(path: Path) -> dict[str, Any]:
    """One TOML file of a scenario ({} when it is missing); a syntax error names the file."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput.field(path.name, f"not valid TOML: {exc}") from None
