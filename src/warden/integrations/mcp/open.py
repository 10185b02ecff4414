"""Open the guard for a proxy session, failing closed into sessions that refuse everything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from warden.errors import AuditError, ConfigError, WardenError
from warden.integrations.mcp.session import McpConfig, McpSession

if TYPE_CHECKING:
    from warden.guard import Guard

__all__ = ["open_guard", "open_session"]


def open_guard(
    config: McpConfig, *, policy_files: Sequence[str] = (), audit: Path | bool = True
) -> tuple[Guard | None, str | None]:
    """The guard for ``config`` (the layered policy plus ``policy_files``, recording to
    ``audit``: ``True`` the default log, a path, ``False`` nothing), or ``None`` and the reason
    it could not be opened."""
    from warden.guard import Guard

    try:
        guard = Guard.open(workspace=config.workspace, policy_files=policy_files, audit=audit,
                           resident=True)
        return guard, None
    except ConfigError as exc:
        reason = f"warden's policy could not be loaded: {exc}"
    except (AuditError, OSError) as exc:
        reason = f"warden's audit log could not be opened ({type(exc).__name__}: {exc})"
    except WardenError as exc:
        reason = f"warden could not start ({type(exc).__name__}: {exc})"
    return None, reason + "; every request is refused"


def open_session(
    config: McpConfig,
    *,
    policy_files: Sequence[str] = (),
    audit: Path | bool = True,
    warn: Callable[[str], None] | None = None,
) -> McpSession:
    """A session judging with :func:`open_guard`'s guard.

    A policy that does not load or an audit log that cannot be opened does not stop the proxy
    from starting: the client must get a clear reason, so the session answers every request
    with a JSON-RPC error that gives it (and the stdio server is not started).
    """
    guard, reason = open_guard(config, policy_files=policy_files, audit=audit)
    return McpSession(config, guard, refuse_reason=reason, warn=warn)
