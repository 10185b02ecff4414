"""warden: check, contain, watch, record and stop autonomous AI agents."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
