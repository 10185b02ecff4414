"""The policy file: what the user allows, what they deny, and how strongly.

A policy is TOML with these tables (all optional; see docs/policy.md and ``warden policy show``)::

    [policy]    name, default (verdict when nothing matches), on_error (verdict when analysis
                fails: deny unless you say otherwise), workspace (root; default: the action's cwd)
    [paths]     read_allow, read_outside (verdict), read_deny, write_allow, write_outside
                (verdict), trusted_read
    [network]   allow (host globs, "host:port"), deny, egress (hosts `warden run` lets through)
    [commands]  allow (an allowlist: argv globs), outside (verdict), deny, ask
    [verdicts]  category = verdict
    [rules."<id>"]  verdict, enabled
    [tools]     trusted (tool names never checked), unknown (verdict for unknown tools)
    [packs]     extra (paths of additional rule packs), disable (rule-id globs)
    [mcp]       elicitation_secrets (allow | deny: whether `warden mcp` passes on a user's
                answer to a server's elicitation that looks like a secret)
    [contain]   what `warden run` lets the contained program see and do: read, write, hide,
                protect (paths), unix_sockets, memory, pids, cpu_seconds
"""

from typing import Any

import msgspec

__all__ = [
    "CommandsSection",
    "ContainSection",
    "McpSection",
    "NetworkSection",
    "PacksSection",
    "PathsSection",
    "PolicyMeta",
    "PolicySpec",
    "RuleOverride",
    "ToolsSection",
    "policy_json_schema",
]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class PolicyMeta(_Strict, frozen=True):
    name: str | None = None
    default: str | None = None
    on_error: str | None = None
    workspace: str | None = None
    trust_project: bool | None = None


class PathsSection(_Strict, frozen=True):
    read_allow: list[str] = []
    read_outside: str | None = None
    read_deny: list[str] = []
    write_allow: list[str] = []
    write_outside: str | None = None
    trusted_read: list[str] = []


class NetworkSection(_Strict, frozen=True):
    allow: list[str] = []
    deny: list[str] = []
    egress: list[str] | None = None


class CommandsSection(_Strict, frozen=True):
    allow: list[str] = []
    outside: str | None = None
    deny: list[str] = []
    ask: list[str] = []


class RuleOverride(_Strict, frozen=True):
    verdict: str | None = None
    enabled: bool | None = None


class ToolsSection(_Strict, frozen=True):
    trusted: list[str] = []
    unknown: str | None = None


class McpSection(_Strict, frozen=True):
    elicitation_secrets: str | None = None


class PacksSection(_Strict, frozen=True):
    extra: list[str] = []
    disable: list[str] = []


class ContainSection(_Strict, frozen=True):
    read: list[str] = []
    write: list[str] = []
    hide: list[str] = []
    protect: list[str] = []
    unix_sockets: bool | None = None
    memory: str | None = None
    pids: int | None = None
    cpu_seconds: int | None = None


class PolicySpec(_Strict, frozen=True):
    policy: PolicyMeta = PolicyMeta()
    paths: PathsSection = PathsSection()
    network: NetworkSection = NetworkSection()
    commands: CommandsSection = CommandsSection()
    verdicts: dict[str, str] = {}
    rules: dict[str, RuleOverride] = {}
    tools: ToolsSection = ToolsSection()
    packs: PacksSection = PacksSection()
    mcp: McpSection = McpSection()
    contain: ContainSection = ContainSection()


def policy_json_schema() -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(PolicySpec)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "warden policy"
    return schema
