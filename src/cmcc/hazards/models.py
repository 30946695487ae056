"""Tables of explosive ordnance hazards (IMSMA style). Filled in by issue 4's hazard work."""

from __future__ import annotations
