"""OpenTelemetry export: each decision as a GenAI ``execute_tool`` span, to any OTLP backend.

Optional (``pip install 'warden[otel]'``): nothing here is imported unless telemetry is turned on,
with ``WARDEN_OTEL=1`` (endpoint from the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, default ``http://localhost:4318``) or by passing a
:class:`DecisionTracer` to :class:`warden.guard.Guard`.

Spans follow the OpenTelemetry GenAI semantic conventions for tool execution
(``gen_ai.operation.name = execute_tool``, span name ``execute_tool {gen_ai.tool.name}``, kind
INTERNAL; the conventions are at "Development" status and may change) and add warden's own
``warden.*`` attributes: the verdict, severity, rule ids, ATT&CK techniques and the one-line
reason. A denied or killed call is a span with status ERROR and ``error.type`` =
``warden.deny`` / ``warden.kill``: the tool did not run.

What is never exported: the command, paths, contents, URLs or bodies of the action (they may
hold secrets; the audit log keeps them, redacted and purgeable). The reason is exported; rule
reasons name categories of things, not values.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from warden.errors import WardenError

if TYPE_CHECKING:
    from warden.action import Action
    from warden.decision import Decision

__all__ = ["DecisionTracer", "span_attributes", "span_name"]

INSTRUMENTATION = "warden"
_MCP_KIND = "mcp_tool"


def span_name(action: Action) -> str:
    return f"execute_tool {action.tool or action.kind.value}"


def span_attributes(action: Action, decision: Decision) -> dict[str, Any]:
    """The span's attributes (pure; no OpenTelemetry import needed)."""
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": action.tool or action.kind.value,
        "gen_ai.tool.type": "extension" if action.kind.value == _MCP_KIND else "function",
        "warden.verdict": str(decision.verdict),
        "warden.severity": str(decision.severity),
        "warden.rules": list(decision.rules),
        "warden.techniques": list(decision.techniques),
        "warden.reason": decision.reason,
        "warden.action.kind": action.kind.value,
        "warden.source": action.source,
    }
    optional = {
        "gen_ai.tool.call.id": action.tool_use_id,
        "gen_ai.conversation.id": action.session_id,
        "gen_ai.agent.name": action.agent,
        "warden.policy": decision.policy,
        "warden.error": decision.error,
    }
    attrs.update({k: v for k, v in optional.items() if v})
    return attrs


class DecisionTracer:
    """Turns decisions into spans on an OpenTelemetry tracer provider."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer(INSTRUMENTATION)

    @classmethod
    def otlp(cls, endpoint: str | None = None, *, timeout: float = 2.0) -> DecisionTracer:
        """Export over OTLP/HTTP (protobuf) in batches, to ``endpoint`` or the OTEL_* default.

        ``timeout`` bounds each export and its retries, so an unreachable collector delays a
        process's exit by at most that much and never delays a decision.
        """
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            raise WardenError(
                "OpenTelemetry export needs the otel extra: pip install 'warden[otel]'"
            ) from exc
        if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        from warden import __version__

        provider = TracerProvider(resource=Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", "warden"),
             "service.version": __version__}))  # fmt: skip
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, timeout=timeout)))
        return cls(provider)

    @classmethod
    def from_env(cls) -> DecisionTracer | None:
        """A tracer when ``WARDEN_OTEL`` is set to 1/true/yes, else None."""
        if os.environ.get("WARDEN_OTEL", "").lower() not in ("1", "true", "yes"):
            return None
        return cls.otlp()

    def export(self, action: Action, decision: Decision, *, start_ns: int, end_ns: int) -> None:
        """One span for one decision; never raises into the caller's decision path."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        try:
            span = self._tracer.start_span(
                span_name(action), kind=SpanKind.INTERNAL,
                attributes=span_attributes(action, decision), start_time=start_ns,
            )  # fmt: skip
            verdict = str(decision.verdict)
            if verdict in ("deny", "kill"):
                span.set_attribute("error.type", f"warden.{verdict}")
                span.set_status(Status(StatusCode.ERROR, decision.reason))
            span.end(end_time=end_ns)
        except Exception:  # noqa: S110 - telemetry must never change or block a decision
            pass

    def flush(self, timeout_ms: int = 5000) -> bool:
        return bool(self._provider.force_flush(timeout_ms))

    def shutdown(self) -> None:
        self._provider.shutdown()
