"""The rule-pack format: TOML files of ``[[rule]]`` tables, validated strictly on load.

A rule matches *facts* (see :mod:`warden.check.facts`), not syntax. Its ``match`` is one
selection or a list of selections (any may match); a selection names subjects (``exec``, ``file``,
``net``, ``marker``, ``env_set``, ``env_read``, ``secret``, ``action``) with field conditions.
Within one subject every condition must hold for the *same* item (the same file access, the same
program run); across subjects each must be met by some item. A list value means any-of.
``unless`` selections veto a match. A rule with ``requires`` instead combines other findings
(``"category:credential-access"`` or a rule-id glob such as ``"exfil.*"``): it matches when every
requirement is met by a finding of the first pass. docs/rules.md describes every field.
"""

from typing import Any

import msgspec

__all__ = [
    "ActionCond",
    "EnvCond",
    "Examples",
    "ExecCond",
    "FileCond",
    "MarkerCond",
    "NetCond",
    "PackMeta",
    "PackSpec",
    "RuleSpec",
    "SecretCond",
    "Selection",
    "pack_json_schema",
]

StrList = str | list[str]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class ExecCond(_Strict, frozen=True):
    name: StrList | None = None  # program names, globs allowed ("python3*")
    args: StrList | None = None  # some argument matches one of these globs
    argv: str | None = None  # regex over the argv joined by spaces
    via: StrList | None = None  # some wrapper/context matches one of these globs
    stdin: StrList | None = None  # origins of piped input (network, decoded, file, ...)
    args_from: StrList | None = None  # origins of substituted arguments
    privileged: bool | None = None
    background: bool | None = None
    dynamic: bool | None = None


class FileCond(_Strict, frozen=True):
    op: StrList | None = None  # read write append delete chmod exec list
    path: StrList | None = None  # globs: "~/.ssh/id_*", "**/.env", "/etc/shadow"
    not_path: StrList | None = None  # globs the same access must not match
    # globs that a wildcard access must match as written (``**/id_rsa`` names a key anywhere
    # without letting ``cat src/**/*.py`` or a whole directory match by what it *could* contain)
    path_as_written: StrList | None = None
    in_workspace: bool | None = None
    glob: bool | None = None
    recursive: bool | None = None
    by: StrList | None = None
    not_by: StrList | None = None  # programs whose access does not count (`git` for .git/config)


class NetCond(_Strict, frozen=True):
    direction: StrList | None = None  # fetch upload connect listen resolve
    host: StrList | None = None  # globs: "*.pastebin.com"
    allowed: bool | None = None  # host is (not) on the policy's allowlist
    scheme: StrList | None = None
    port: int | list[int] | None = None
    sends: StrList | None = None  # origins of uploaded data
    by: StrList | None = None


class MarkerCond(_Strict, frozen=True):
    name: StrList
    detail: str | None = None  # regex the marker's detail must match
    not_detail: str | None = None  # regex the same marker's detail must not match


class EnvCond(_Strict, frozen=True):
    name: StrList
    value: str | None = None  # regex


class SecretCond(_Strict, frozen=True):
    kind: StrList | None = None
    field: StrList | None = None


class ActionCond(_Strict, frozen=True):
    kind: StrList | None = None
    tool: StrList | None = None
    mcp_server: StrList | None = None
    text: str | None = None  # regex over the action's main text: a last resort


class Selection(_Strict, frozen=True):
    exec: ExecCond | None = None
    file: FileCond | None = None
    net: NetCond | None = None
    marker: MarkerCond | None = None
    env_set: EnvCond | None = None
    env_read: EnvCond | None = None
    secret: SecretCond | None = None
    action: ActionCond | None = None


class Examples(_Strict, frozen=True):
    match: list[str | dict[str, Any]] = []
    no_match: list[str | dict[str, Any]] = []


class RuleSpec(_Strict, frozen=True):
    id: str
    category: str
    severity: str
    verdict: str
    description: str
    reason: str
    advice: str = ""
    technique: StrList = []
    match: Selection | list[Selection] | None = None
    unless: Selection | list[Selection] | None = None
    requires: list[str] = []
    examples: Examples = Examples()
    enabled: bool = True


class PackMeta(_Strict, frozen=True):
    name: str
    description: str = ""


class PackSpec(_Strict, frozen=True):
    pack: PackMeta
    rule: list[dict[str, Any]] = []  # each validated as a RuleSpec, one at a time


def pack_json_schema() -> dict[str, Any]:
    """JSON Schema of one rule (``[[rule]]`` table) in a pack."""
    schema: dict[str, Any] = msgspec.json.schema(RuleSpec)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "warden rule"
    return schema
