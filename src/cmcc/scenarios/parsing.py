"""Reading one scenario record: checked by its schema (an error names the file, the record and
the field) and its source tagged with the record's markers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from cmcc.core.errors import InvalidInput


def parse_record(schema: type[BaseModel], record: dict[str, Any], where: str) -> Any:
    try:
        return schema.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidInput.field(f"{where}.{loc}" if loc else where, first["msg"]) from None


def source_text(record: dict[str, Any]) -> str:
    """The record's source, with `[approx]` / `[illustrative]` / `[approx, illustrative]`."""
    tags = [t for t in ("approx", "illustrative") if record.get(t)]
    source = str(record.get("source", ""))
    return source + (f" [{', '.join(tags)}]" if tags else "")
