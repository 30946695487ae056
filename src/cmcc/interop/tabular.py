"""Record streams for exchange files, read one record at a time (files may be large).

- CSV with a plain header row, or HXL-tagged CSV (HXL 1.1: a row of hashtags such as
  `#geo+lat` under, or instead of, the header row; found among the first rows the way libhxl
  finds it). Columns are recognized by hashtag first (attributes in any order), then by header.
- GeoJSON FeatureCollections (RFC 7946), decoded feature by feature from a text stream.

The module is generic: each caller names its columns with `Column`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import queue
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

HASHTAG_RE = re.compile(r"^\s*#([A-Za-z][A-Za-z0-9_]*)((?:\s*\+\s*[A-Za-z][A-Za-z0-9_]*)*)\s*$")
SCAN_ROWS = 25  # libhxl looks this far for the hashtag row
CHUNK_CHARS = 1 << 20
MAX_VALUE_CHARS = 64 << 20  # one feature larger than this is refused (memory stays bounded)

TagSpec = tuple[str, frozenset[str]]
T = TypeVar("T")


class FormatError(ValueError):
    """The file as a whole cannot be read in the announced format."""


def parse_hashtag(text: str) -> TagSpec | None:
    """`#affected+killed+civilian` -> ("affected", {"killed", "civilian"}); None if not a tag."""
    match = HASHTAG_RE.match(text)
    if match is None:
        return None
    attrs = frozenset(a.strip().lower() for a in match.group(2).split("+") if a.strip())
    return match.group(1).lower(), attrs


def is_hashtag_row(cells: Sequence[str]) -> bool:
    """More than half of the non-empty cells are HXL hashtags (libhxl's rule)."""
    filled = [c for c in cells if c.strip()]
    tagged = sum(1 for c in filled if parse_hashtag(c) is not None)
    return bool(filled) and tagged * 2 > len(filled)


@dataclass(frozen=True)
class Column:
    """A field of an exchange file: its plain header and its HXL hashtag (plus aliases)."""

    field: str
    header: str
    hashtag: str
    aliases: tuple[str, ...] = ()  # other headers, or hashtags (starting with '#')

    def names(self) -> set[str]:
        return {self.header, *(a for a in self.aliases if not a.startswith("#"))}

    def tags(self) -> set[TagSpec]:
        specs = (parse_hashtag(t) for t in (self.hashtag, *self.aliases) if t.startswith("#"))
        return {s for s in specs if s is not None}


@dataclass
class Layout:
    """Where each known field sits in the rows, and what was not recognized."""

    positions: dict[str, int]
    hxl: bool
    header_line: int | None
    ignored: list[str] = field(default_factory=list)


def _layout(header: list[str] | None, tags: list[str] | None, columns: Sequence[Column]) -> Layout:
    by_name = {n: c.field for c in columns for n in c.names()}
    by_tag = {t: c.field for c in columns for t in c.tags()}
    width = max(len(header or []), len(tags or []))
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for i in range(width):
        name = header[i].strip() if header and i < len(header) else ""
        tag = tags[i].strip() if tags and i < len(tags) else ""
        spec = parse_hashtag(tag) if tag else None
        found = by_tag.get(spec) if spec else None
        found = found or by_name.get(name.lower())
        if found is None or found in positions:
            if name or tag:
                ignored.append(" ".join(p for p in (name, tag) if p))
            continue
        positions[found] = i
    return Layout(positions, tags is not None, None, ignored)


@dataclass
class Record:
    """One data row: its first physical line, its cells, or why it could not be read."""

    line: int
    cells: list[str]
    error: str | None = None


class TableReader:
    """The data rows of a CSV file (header and hashtag rows consumed), as `Record`s.

    `layout` tells which column holds which field. Blank lines are skipped; a row the csv
    module cannot parse comes as a Record with `error` set and the reading goes on.
    """

    def __init__(self, stream: TextIO, columns: Sequence[Column]) -> None:
        self._reader = csv.reader(stream)
        self._last_line = 0
        self._pending: list[Record] = []
        head: list[Record] = []
        while len(head) < SCAN_ROWS:
            record = self._next()
            if record is None:
                break
            if record.error is None and not any(c.strip() for c in record.cells):
                continue
            head.append(record)
        tag_at = next(
            (i for i, r in enumerate(head) if r.error is None and is_hashtag_row(r.cells)), None
        )
        if tag_at is not None:
            header = head[tag_at - 1] if tag_at > 0 else None
            self.layout = _layout(header.cells if header else None, head[tag_at].cells, columns)
            self.layout.header_line = header.line if header else head[tag_at].line
            self._pending = head[tag_at + 1 :]
        elif head:
            if head[0].error is not None:
                raise FormatError(f"line {head[0].line}: {head[0].error}")
            self.layout = _layout(head[0].cells, None, columns)
            self.layout.header_line = head[0].line
            self._pending = head[1:]
        else:
            raise FormatError("the file is empty: no header row")

    def _next(self) -> Record | None:
        start = self._last_line + 1
        try:
            cells = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            self._last_line = self._reader.line_num
            return Record(start, [], f"unreadable CSV: {exc}")
        self._last_line = self._reader.line_num
        return Record(start, cells)

    def __iter__(self) -> Iterator[Record]:
        yield from self._pending
        self._pending = []
        while (record := self._next()) is not None:
            if record.error is None and not any(c.strip() for c in record.cells):
                continue
            yield record


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


# --- GeoJSON ---------------------------------------------------------------------------------


class _Scanner:
    """A window on a text stream for decoding JSON values one at a time."""

    def __init__(self, stream: TextIO, chunk: int) -> None:
        self.stream, self.chunk = stream, chunk
        self.buf, self.pos, self.eof = "", 0, False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(self.chunk)
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the stream)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = repr(char) if char else "the end of the file"
            raise FormatError(f"not a GeoJSON FeatureCollection: expected {chars!r}, found {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """Decode one JSON value; read more text while it is cut off by the window's end."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos < MAX_VALUE_CHARS and self._more():
                    continue
                raise FormatError(f"not valid JSON: {exc.msg} (character {exc.pos})") from None
            if end >= len(self.buf) and self._more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value


def iter_features(stream: TextIO, chunk: int = CHUNK_CHARS) -> Iterator[tuple[int, Any]]:
    """(position from 1, feature) for each feature of a FeatureCollection, decoded one at a
    time so that memory stays bounded whatever the size of the collection."""
    scan = _Scanner(stream, chunk)
    scan.expect("{")
    seen_features = False
    if scan.peek() == "}":
        raise FormatError("not a GeoJSON FeatureCollection: the object is empty")
    while True:
        key = scan.value()
        scan.expect(":")
        if key == "features":
            seen_features = True
            scan.expect("[")
            position = 0
            if scan.peek() == "]":
                scan.pos += 1
            else:
                while True:
                    position += 1
                    yield position, scan.value()
                    if scan.expect(",]") == "]":
                        break
        else:
            value = scan.value()
            if key == "type" and value != "FeatureCollection":
                raise FormatError(f"not a GeoJSON FeatureCollection: type is {value!r}")
        if scan.expect(",}") == "}":
            break
    if not seen_features:
        raise FormatError("not a GeoJSON FeatureCollection: no 'features' member")


# --- files ------------------------------------------------------------------------------------


def file_sha256(source: Path | bytes) -> str:
    """The SHA-256 of a file (read in blocks) or of bytes, as hex."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[Iterator[T]]:
    """The items, produced by a second thread up to `depth` ahead of the consumer: parsing the
    next chunk of a file overlaps the writing of this one (database drivers let go of the GIL
    while the database works). An exception of the producer is raised to the consumer; leaving
    the block stops the producer. Order is kept. `depth` 0: no thread, the items as they are."""
    if depth <= 0:
        yield items
        return
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                box.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer("item", item):
                    return
        except BaseException as exc:
            offer("error", exc)
            return
        offer("end", None)

    def consume() -> Iterator[T]:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


# Spreadsheets run a cell that starts with one of these as a formula ("CSV injection"): in
# CSV and HXL such free-text cells get a leading apostrophe, which the importer takes off.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def from_spreadsheet_safe(text: str) -> str:
    """The text `spreadsheet_safe` was given: its leading apostrophe taken off again."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text
