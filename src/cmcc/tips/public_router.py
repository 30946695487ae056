"""The public tip routes (/public/tips): no login, and nothing that identifies the tipster."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["public tips"])
