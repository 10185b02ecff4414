"""The MCP proxy: ``warden mcp -- SERVER_CMD ARGS...`` between an MCP client and its server.

See ``docs/mcp.md``. :func:`open_session` builds the judging session from the command line's
choices (failing closed into a session that refuses every request when the policy or the audit
log cannot be opened); :func:`run_stdio` relays a stdio server through it.
"""

from __future__ import annotations

from warden.integrations.mcp.jsonrpc import MAX_MESSAGE_BYTES
from warden.integrations.mcp.mapping import KNOWN_TOOLS, CallContext, map_call
from warden.integrations.mcp.open import open_session
from warden.integrations.mcp.session import McpConfig, McpSession, Out
from warden.integrations.mcp.stdio import run_stdio
from warden.integrations.mcp.toolscan import ToolFinding, inspect_tool

__all__ = [
    "KNOWN_TOOLS",
    "MAX_MESSAGE_BYTES",
    "CallContext",
    "McpConfig",
    "McpSession",
    "Out",
    "ToolFinding",
    "inspect_tool",
    "map_call",
    "open_session",
    "run_stdio",
]
