"""The edges where warden meets the agents: hook adapters (and later the MCP proxy, SDK, OTel).

Nothing here is imported by the core; each integration imports the core lazily, so that a hook
process pays only for what its event needs (``docs/integrations.md``).
"""

from __future__ import annotations

__all__: list[str] = []
