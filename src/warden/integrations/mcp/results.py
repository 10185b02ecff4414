"""What a tool gave back: scanned for secrets and planted instructions, rewritten on a hit.

Pure functions over one ``CallToolResult``. The scan is the hooks' post-tool scan
(:func:`warden.integrations.hooks.outputscan.scan_output`: :mod:`warden.check.secrets` and the
planted-instruction detector), over the parts the model reads (``content`` and
``structuredContent``). On a hit the result is rewritten, exactly so (``docs/mcp.md``):

1. a text item with warden's warning is inserted first in ``content``;
2. if secrets were found (and ``pass_secrets`` is off): every text item, embedded
   ``resource.text`` and string in ``structuredContent`` goes through
   :func:`warden.check.secrets.redact_text`, and every PEM private-key block is replaced whole;
3. ``_meta["warden/flags"]`` lists the secret kinds and ``injection``.

An interim ``input_required`` result (2026-07-28 multi round-trip requests) is scanned and
recorded but not rewritten: its retry is a new ``tools/call``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = ["ResultInspection", "inspect_result"]


class ResultInspection(NamedTuple):
    """The fields of the result's audit record, its redacted text, and what the client gets
    instead (``None``: the result unchanged)."""

    record: dict[str, Any]
    redacted: str
    flagged: bool
    rewritten: dict[str, Any] | None


def inspect_result(result: dict[str, Any], *, pass_secrets: bool = False) -> ResultInspection:
    from warden.integrations.hooks.outputscan import scan_output, warning

    visible = {k: result.get(k) for k in ("content", "structuredContent") if k in result}
    scan = scan_output(visible)
    secrets = list(scan.secrets)
    if "private-key" not in secrets and _has_pem_key(visible):
        secrets.insert(0, "private-key")
        scan = scan._replace(secrets=tuple(secrets))
    flags = [*secrets, *(["injection"] if scan.injection.flagged else [])]
    note = warning(scan)
    interim = result.get("resultType") == "input_required"
    record = {
        "outcome": "error" if result.get("isError") is True else "ok",
        "output_chars": scan.chars,
        "secrets": secrets,
        "injection": [h.signal for h in scan.injection.hits],
        "flagged": scan.injection.flagged,
        "complete": scan.complete,
        "changed": bool(flags) and not interim,
    }
    redacted = scan.redacted
    if "PRIVATE KEY-----" in redacted:  # the audit payload keeps no key material either
        redacted = _PEM_PRIVATE.sub(_PEM_STANDIN, redacted)
    if interim or note is None:
        return ResultInspection(record, redacted, bool(flags), None)
    changed = dict(result)
    content = changed.get("content")
    items = list(content) if isinstance(content, list) else []
    if secrets and not pass_secrets:
        items = [_redact_item(item) for item in items]
        if "structuredContent" in changed:
            changed["structuredContent"] = _redact_value(changed["structuredContent"])
        note += " warden replaced the secret values in this result with redacted stand-ins."
    changed["content"] = [{"type": "text", "text": note}, *items]
    meta = changed.get("_meta")
    changed["_meta"] = {**(meta if isinstance(meta, dict) else {}), "warden/flags": flags}
    return ResultInspection(record, redacted, True, changed)


#: A PEM private key block, whole. ``warden.check.secrets`` finds most keys, but an OpenSSH
#: key's base64 body is only partly recognised there (as ``high-entropy`` lines); a key block
#: is never something a client needs to see, so the proxy also replaces each block entire.
_PEM_PRIVATE = re.compile(
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
)
_PEM_STANDIN = "[private key removed by warden]"


def _has_pem_key(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "PRIVATE KEY-----" in value and _PEM_PRIVATE.search(value) is not None
    if depth > 32:
        return False
    if isinstance(value, dict):
        return any(_has_pem_key(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_pem_key(v, depth + 1) for v in value)
    return False


def _redact_value(value: Any, depth: int = 0) -> Any:
    from warden.check.secrets import redact_text

    if isinstance(value, str):
        if "PRIVATE KEY-----" in value:
            value = _PEM_PRIVATE.sub(_PEM_STANDIN, value)
        return redact_text(value)
    if depth > 32:
        return value
    if isinstance(value, dict):
        return {k: _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, depth + 1) for v in value]
    return value


def _redact_item(item: Any) -> Any:
    """A content item with its text redacted (text items, embedded text resources)."""
    if not isinstance(item, dict):
        return item
    out = dict(item)
    if isinstance(out.get("text"), str):
        out["text"] = _redact_value(out["text"])
    resource = out.get("resource")
    if isinstance(resource, dict) and isinstance(resource.get("text"), str):
        out["resource"] = {**resource, "text": _redact_value(resource["text"])}
    return out
