"""A request's transaction commits before its response is sent. FastAPI ends a dependency with
`yield` after the response has gone unless it is declared with scope="function": a browser that
reloads a page on a write's 200 could then read the state before the write (the tasking board
did, now and then, on PostgreSQL under load), and a commit that fails would answer 200."""

from __future__ import annotations

from typing import get_args

from cmcc.api.deps import SessionDep


def test_the_session_ends_before_the_response() -> None:
    _session, depends = get_args(SessionDep)
    assert depends.scope == "function"
