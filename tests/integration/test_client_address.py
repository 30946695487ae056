"""No route sees a client address, even one a proxy forwards; the pages' icon is served by the
server itself, at the address the pages declare and at /favicon.ico."""

from __future__ import annotations

from fastapi import Request
from fastapi.testclient import TestClient

FORWARDED = {"X-Forwarded-For": "203.0.113.99", "X-Real-IP": "203.0.113.99"}


def test_no_route_sees_a_client_address(client: TestClient) -> None:
    def seen(request: Request) -> dict[str, object]:
        return {"client": request.client}

    client.app.add_api_route("/_test/client", seen)  # type: ignore[attr-defined]
    assert client.get("/_test/client", headers=FORWARDED).json() == {"client": None}


def test_the_icon_is_declared_and_served(client: TestClient) -> None:
    link = '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">'
    assert link in client.get("/login").text  # the staff pages' base template
    assert link in client.get("/public/tips").text
    svg = client.get("/static/icon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    ico = client.get("/favicon.ico", headers=FORWARDED)
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content.startswith(b"\x00\x00\x01\x00")  # an ICO file
