"""Tables of public tips and rewards. Filled in by issue 4's tips work."""

from __future__ import annotations
