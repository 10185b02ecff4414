"""What a server puts before the model: scanned for secrets and planted instructions, rewritten
on a hit.

Pure functions over one message. The scan is the hooks' post-tool scan
(:func:`warden.integrations.hooks.outputscan.scan_output`: :mod:`warden.check.secrets` and the
planted-instruction detector), over the parts the model reads:

- a ``CallToolResult`` (:func:`inspect_result`): ``content`` and ``structuredContent``;
- a ``ReadResourceResult`` (:func:`inspect_resource`): each of ``contents``' ``text``;
- a ``GetPromptResult`` (:func:`inspect_prompt`): its ``messages``' text and embedded resources;
- a server's ``sampling/createMessage`` request (:func:`inspect_sampling`): its ``systemPrompt``
  and ``messages``, which the client hands to its model.

On a hit the message is rewritten, exactly so (``docs/mcp.md``):

1. warden's warning goes first: a text item in a tool result's ``content``, a ``text/plain``
   item with the URI ``warden:warning`` in a resource's ``contents``, a user message in a
   prompt's ``messages`` (a sampling request gets no warning: the session refuses a flagged one);
2. if secrets were found (and ``pass_secrets`` is off): every text item, embedded
   ``resource.text`` and string in ``structuredContent`` goes through
   :func:`warden.check.secrets.redact_text`, and every PEM private-key block is replaced whole;
3. ``_meta["warden/flags"]`` lists the secret kinds and ``injection``.

An interim ``input_required`` result (2026-07-28 multi round-trip requests) is scanned and
recorded but not rewritten: its retry is a new ``tools/call``. The server requests in its
``inputRequests`` are the session's to judge (elicitation, and sampling with
:func:`inspect_sampling`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from warden.integrations.hooks.outputscan import OutputScan

__all__ = [
    "ResultInspection",
    "inspect_prompt",
    "inspect_resource",
    "inspect_result",
    "inspect_sampling",
]


class ResultInspection(NamedTuple):
    """The fields of the result's audit record, its redacted text, and what the client gets
    instead (``None``: the result unchanged)."""

    record: dict[str, Any]
    redacted: str
    flagged: bool
    rewritten: dict[str, Any] | None


def inspect_result(result: dict[str, Any], *, pass_secrets: bool = False) -> ResultInspection:
    """A tool's result (``content``, ``structuredContent``)."""
    visible = {k: result.get(k) for k in ("content", "structuredContent") if k in result}
    interim = result.get("resultType") == "input_required"
    scan, secrets, flags, note, record = _scan(visible, "this tool output", interim=interim)
    record["outcome"] = "error" if result.get("isError") is True else "ok"
    if interim or note is None:
        return ResultInspection(record, _plain(scan.redacted), bool(flags), None)
    changed = dict(result)
    content = changed.get("content")
    items = list(content) if isinstance(content, list) else []
    if secrets and not pass_secrets:
        items = [_redact_item(item) for item in items]
        if "structuredContent" in changed:
            changed["structuredContent"] = _redact_value(changed["structuredContent"])
        note += _REDACTED_NOTE
    changed["content"] = [{"type": "text", "text": note}, *items]
    return ResultInspection(record, _plain(scan.redacted), True, _flagged(changed, flags))


def inspect_resource(result: dict[str, Any], *, pass_secrets: bool = False) -> ResultInspection:
    """A resource's contents (``resources/read``): text contents are what the model reads."""
    contents = result.get("contents")
    items = list(contents) if isinstance(contents, list) else []
    visible = [item.get("text") for item in items if isinstance(item, dict)]
    scan, secrets, flags, note, record = _scan(visible, "this resource")
    if note is None:
        return ResultInspection(record, _plain(scan.redacted), bool(flags), None)
    if secrets and not pass_secrets:
        items = [_redact_item(item) for item in items]
        note += _REDACTED_NOTE
    warning_item = {"uri": "warden:warning", "mimeType": "text/plain", "text": note}
    changed = {**result, "contents": [warning_item, *items]}
    return ResultInspection(record, _plain(scan.redacted), True, _flagged(changed, flags))


def inspect_prompt(result: dict[str, Any], *, pass_secrets: bool = False) -> ResultInspection:
    """A prompt (``prompts/get``): its messages go into the model's context as they are."""
    messages = result.get("messages")
    items = list(messages) if isinstance(messages, list) else []
    visible = [result.get("description"), *(m.get("content") for m in items
                                            if isinstance(m, dict))]  # fmt: skip
    scan, secrets, flags, note, record = _scan(visible, "this prompt")
    if note is None:
        return ResultInspection(record, _plain(scan.redacted), bool(flags), None)
    if secrets and not pass_secrets:
        items = [_redact_message(m) for m in items]
        note += _REDACTED_NOTE
    warning_message = {"role": "user", "content": {"type": "text", "text": note}}
    changed = {**result, "messages": [warning_message, *items]}
    return ResultInspection(record, _plain(scan.redacted), True, _flagged(changed, flags))


def inspect_sampling(params: dict[str, Any], *, pass_secrets: bool = False) -> ResultInspection:
    """A server's ``sampling/createMessage`` request: what it asks the client's model to read.
    ``rewritten`` is the params with secrets redacted (None when there were none); whether a
    request with planted instructions goes on at all is the session's call (``flagged``)."""
    messages = params.get("messages")
    items = list(messages) if isinstance(messages, list) else []
    visible = [params.get("systemPrompt"), *(m.get("content") for m in items
                                             if isinstance(m, dict))]  # fmt: skip
    scan, secrets, _, _, record = _scan(visible, "this sampling request")
    rewritten = None
    if secrets and not pass_secrets:
        rewritten = {**params, "messages": [_redact_message(m) for m in items]}
        if isinstance(params.get("systemPrompt"), str):
            rewritten["systemPrompt"] = _redact_value(params["systemPrompt"])
    return ResultInspection(record, _plain(scan.redacted), scan.injection.flagged, rewritten)


_REDACTED_NOTE = " warden replaced the secret values in this result with redacted stand-ins."


def _scan(visible: Any, what: str, *, interim: bool = False) -> tuple[
    OutputScan, list[str], list[str], str | None, dict[str, Any]
]:  # fmt: skip
    from warden.integrations.hooks.outputscan import scan_output, warning

    scan = scan_output(visible)
    secrets = list(scan.secrets)
    if "private-key" not in secrets and _has_pem_key(visible):
        secrets.insert(0, "private-key")
        scan = scan._replace(secrets=tuple(secrets))
    flags = [*secrets, *(["injection"] if scan.injection.flagged else [])]
    record: dict[str, Any] = {
        "output_chars": scan.chars,
        "secrets": secrets,
        "injection": [h.signal for h in scan.injection.hits],
        "flagged": scan.injection.flagged,
        "complete": scan.complete,
        "changed": bool(flags) and not interim,
    }
    return scan, secrets, flags, warning(scan, what), record


def _plain(redacted: str) -> str:
    """The audit payload keeps no key material either."""
    if "PRIVATE KEY-----" in redacted:
        return _PEM_PRIVATE.sub(_PEM_STANDIN, redacted)
    return redacted


def _flagged(changed: dict[str, Any], flags: list[str]) -> dict[str, Any]:
    meta = changed.get("_meta")
    changed["_meta"] = {**(meta if isinstance(meta, dict) else {}), "warden/flags": flags}
    return changed


def _redact_message(message: Any) -> Any:
    """A prompt or sampling message with its content (one item or a list) redacted."""
    if not isinstance(message, dict):
        return message
    content = message.get("content")
    if isinstance(content, list):
        return {**message, "content": [_redact_item(c) for c in content]}
    return {**message, "content": _redact_item(content)}


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
        value = value.values()
    elif not isinstance(value, list):
        return False
    for item in value:  # noqa: SIM110 - a loop: any() over a generator costs a frame per item
        if _has_pem_key(item, depth + 1):
            return True
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
