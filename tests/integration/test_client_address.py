"""No route sees a client address, even one a proxy forwards."""

from __future__ import annotations

from fastapi import Request
from fastapi.testclient import TestClient

FORWARDED = {"X-Forwarded-For": "203.0.113.99", "X-Real-IP": "203.0.113.99"}


def test_no_route_sees_a_client_address(client: TestClient) -> None:
    def seen(request: Request) -> dict[str, object]:
        return {"client": request.client}

    client.app.add_api_route("/_test/client", seen)  # type: ignore[attr-defined]
    assert client.get("/_test/client", headers=FORWARDED).json() == {"client": None}
