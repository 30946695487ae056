"""uvicorn's log lines name no client: its request lines (access log, WebSocket handshakes) get
`-` in its place, whatever the path, and its trace lines, which begin with the peer's address,
are dropped. The records are built as uvicorn builds them."""

from __future__ import annotations

import logging

from uvicorn.logging import AccessFormatter

from cmcc.tips.anonymity import NoClientAddress

ADDRESS = "203.0.113.99:4711"
TRACE = 5  # uvicorn's TRACE_LOG_LEVEL


def _kept(name: str, level: int, msg: str, *args: object) -> logging.LogRecord | None:
    record = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    return record if NoClientAddress().filter(record) else None


def test_access_lines_name_no_client() -> None:
    record = _kept(
        "uvicorn.access", logging.INFO, '%s - "%s %s HTTP/%s" %d', ADDRESS, "GET", "/x", "1.1", 404
    )
    assert record is not None
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert line == '- - "GET /x HTTP/1.1" 404 Not Found'


def test_websocket_handshakes_name_no_client() -> None:
    record = _kept("uvicorn.error", logging.INFO, '%s - "WebSocket %s" 403', ADDRESS, "/ws")
    assert record is not None and record.getMessage() == '- - "WebSocket /ws" 403'


def test_trace_lines_are_dropped() -> None:
    assert _kept("uvicorn.error", TRACE, "%sHTTP connection made", ADDRESS + " - ") is None


def test_other_lines_are_untouched() -> None:
    record = _kept("uvicorn.error", logging.INFO, "Uvicorn running on %s://%s:%d", "http", "h", 1)
    assert record is not None and record.getMessage() == "Uvicorn running on http://h:1"
    record = _kept("uvicorn.error", logging.WARNING, "Invalid HTTP request received.")
    assert record is not None and record.args == ()
