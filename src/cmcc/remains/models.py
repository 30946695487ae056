"""Tables of the search for remains. Filled in by issue 4's search work."""

from __future__ import annotations
