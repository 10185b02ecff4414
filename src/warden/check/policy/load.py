"""Load, validate and merge policy layers into one effective :class:`Policy`.

Layers, weakest first: the built-in default < the user's policy (``$XDG_CONFIG_HOME/warden/
policy.toml``) < the project's (``<workspace>/.warden/policy.toml``) < files given with
``--policy``. Merge rules (docs/policy.md):

- scalars (``default``, ``on_error``, ``write_outside``, ``unknown``, ``elicitation_secrets``)
  are replaced by later layers;
- lists are unions (``read_deny``, ``network.allow``, ``commands.deny``, ...);
- ``verdicts`` and ``rules`` tables are merged key by key, later layers winning;
- ``[contain]``: path lists are unions; limits (``memory``, ``pids``, ``cpu_seconds``) are
  replaced by later layers; ``[network] egress`` adds to ``allow`` without
  the loopback entries (the contained program's loopback is its own, the host's is outside).

The project layer lives in the workspace, which the agent can write, so it may only *tighten*:
its verdicts count only when stricter, its allow-lists (and ``contain.read``/``write``,
``network.egress``) are ignored, its limits count only when lower, it may add ``hide`` and
``protect`` paths but not allow unix sockets, and it cannot disable rules, unless the user's
own policy sets ``trust_project = true``. Every ignored loosening is reported
by ``warden policy show``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import msgspec

from warden.check.paths import compile_glob
from warden.check.policy.model import PolicySpec
from warden.decision import Verdict
from warden.errors import ConfigIssue, PolicyError

__all__ = [
    "ContainPolicy",
    "Layer",
    "Policy",
    "builtin_policy_path",
    "default_layers",
    "load_policy",
    "merge_policy",
    "parse_layers",
    "project_policy_path",
    "user_policy_path",
]


class Layer(msgspec.Struct, frozen=True):
    """One policy file and how far it is trusted."""

    path: Path
    kind: str  # "builtin" | "user" | "project" | "explicit"


#: Host names and addresses that mean "this machine": outside the sandbox, never egress by default.
LOOPBACK_HOSTS = frozenset({"localhost", "*.localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"})  # noqa: S104

_MEMORY_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_memory(text: str) -> int:
    """``"4G"`` -> bytes; units K, M, G, T (powers of 1024), optional trailing ``B``/``iB``."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _MEMORY_UNITS else ""
    number = t[: len(t) - len(unit)].strip()
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"memory {text!r}: use a positive size such as 512M or 4G")
    return int(number) * _MEMORY_UNITS[unit]


class ContainPolicy(msgspec.Struct, frozen=True):
    """What ``warden run`` lets the contained program see and do (docs/containment.md)."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    unix_sockets: bool = False
    memory: int | None = None
    pids: int | None = None
    cpu_seconds: int | None = None


class Policy(msgspec.Struct, frozen=True):
    """The effective policy after merging every layer."""

    name: str
    default: Verdict
    on_error: Verdict
    workspace: str | None
    read_allow: tuple[str, ...]
    read_outside: Verdict
    read_deny: tuple[str, ...]
    write_allow: tuple[str, ...]
    write_outside: Verdict
    trusted_read: tuple[str, ...]
    net_allow: tuple[str, ...]
    net_deny: tuple[str, ...]
    cmd_allow: tuple[str, ...]
    cmd_outside: Verdict
    cmd_deny: tuple[str, ...]
    cmd_ask: tuple[str, ...]
    verdicts: Mapping[str, Verdict]
    rule_verdicts: Mapping[str, Verdict]
    rule_enabled: Mapping[str, bool]
    trusted_tools: frozenset[str]
    unknown_tool: Verdict
    extra_packs: tuple[Path, ...]
    disabled: tuple[str, ...]
    sources: tuple[str, ...]
    contain: ContainPolicy = ContainPolicy()
    net_egress: tuple[str, ...] | None = None
    ignored: tuple[str, ...] = ()
    digest: str = ""
    #: ``[mcp] elicitation_secrets``: ``deny`` makes ``warden mcp`` refuse to pass a user's
    #: elicitation answer that looks like a secret to the server (docs/mcp.md, "Elicitation").
    mcp_elicitation_secrets: Verdict = Verdict.ALLOW
    _host_cache: dict[tuple[str, int | None], bool] = msgspec.field(default_factory=dict)

    def host_allowed(self, host: str, port: int | None = None) -> bool:
        """Whether the allowlist admits ``host`` (and ``port``); deny entries win."""
        key = (host, port)
        hit = self._host_cache.get(key)
        if hit is None:
            from warden.hosts import host_set  # here: most hook processes see no host at all

            hit = not self.host_denied(host, port) and host_set(self.net_allow).matches(host, port)
            if len(self._host_cache) < 4096:
                self._host_cache[key] = hit
        return hit

    def host_denied(self, host: str, port: int | None = None) -> bool:
        """Whether ``[network] deny`` names ``host`` (and ``port``)."""
        if not self.net_deny:
            return False
        from warden.hosts import host_set

        return host_set(self.net_deny).matches(host, port)

    @property
    def egress(self) -> tuple[str, ...]:
        """Hosts ``warden run``'s proxy lets through: ``allow`` without its loopback entries,
        plus ``[network] egress`` (hosts only the contained program needs: model APIs)."""
        derived = tuple(h for h in self.net_allow if h.lower() not in LOOPBACK_HOSTS)
        return tuple(dict.fromkeys((*derived, *(self.net_egress or ()))))


def builtin_policy_path() -> Path:
    return Path(__file__).parent / "default.toml"  # a file next to this module, as installed


def user_policy_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "warden" / "policy.toml"


def project_policy_path(workspace: str | Path) -> Path:
    return Path(workspace) / ".warden" / "policy.toml"


def default_layers(workspace: str | Path | None, explicit: Iterable[Path] = ()) -> list[Layer]:
    """builtin < user < project < explicit, keeping only files that exist (builtin always)."""
    layers = [Layer(builtin_policy_path(), "builtin")]
    user = user_policy_path()
    if user.is_file():
        layers.append(Layer(user, "user"))
    if workspace is not None:
        proj = project_policy_path(workspace)
        if proj.is_file():
            layers.append(Layer(proj, "project"))
    layers.extend(Layer(Path(p), "explicit") for p in explicit)
    return layers


def _parse(layer: Layer, issues: list[ConfigIssue]) -> PolicySpec | None:
    from warden.check.tomlsrc import msgspec_path, read_toml

    doc = read_toml(layer.path)
    if isinstance(doc, ConfigIssue):
        issues.append(doc)
        return None
    try:
        spec = msgspec.convert(doc.data, PolicySpec)
    except msgspec.ValidationError as exc:
        path, msg = msgspec_path(str(exc))
        issues.append(doc.issue(path, msg))
        return None
    from warden.check.rules.load import CATEGORIES

    def verdict(path: tuple[str | int, ...], value: str | None) -> None:
        if value is not None:
            try:
                Verdict.parse(value)
            except ValueError as exc:
                issues.append(doc.issue(path, str(exc)))

    verdict(("policy", "default"), spec.policy.default)
    verdict(("policy", "on_error"), spec.policy.on_error)
    verdict(("paths", "write_outside"), spec.paths.write_outside)
    verdict(("paths", "read_outside"), spec.paths.read_outside)
    verdict(("commands", "outside"), spec.commands.outside)
    verdict(("tools", "unknown"), spec.tools.unknown)
    if spec.mcp.elicitation_secrets not in (None, "allow", "deny"):
        issues.append(doc.issue(("mcp", "elicitation_secrets"), "elicitation_secrets must be "
                                f"'allow' or 'deny', not {spec.mcp.elicitation_secrets!r}"))
    for cat, value in spec.verdicts.items():
        if cat not in CATEGORIES:
            issues.append(doc.issue(("verdicts", cat), f"unknown category {cat!r}"))
        verdict(("verdicts", cat), value)
    for rid, override in spec.rules.items():
        verdict(("rules", rid, "verdict"), override.verdict)
    for key, pats in (("read_deny", spec.paths.read_deny), ("write_allow", spec.paths.write_allow),
                      ("trusted_read", spec.paths.trusted_read),
                      ("read_allow", spec.paths.read_allow)):  # fmt: skip
        for pat in pats:
            if not pat.startswith(("/", "~", "**", "$WORKSPACE")):
                issues.append(doc.issue(("paths", key), f"path {pat!r} must start with /, ~, "
                                        "** or $WORKSPACE"))  # fmt: skip
            else:
                compile_glob(pat)
    c = spec.contain
    for key, pats in (("read", c.read), ("write", c.write), ("hide", c.hide),
                      ("protect", c.protect)):  # fmt: skip
        for pat in pats:
            if not pat.startswith(("/", "~", "$WORKSPACE")):
                issues.append(doc.issue(("contain", key), f"path {pat!r} must start with /, ~ "
                                        "or $WORKSPACE"))  # fmt: skip
    if c.memory is not None:
        try:
            parse_memory(c.memory)
        except ValueError as exc:
            issues.append(doc.issue(("contain", "memory"), str(exc)))
    for key, num in (("pids", c.pids), ("cpu_seconds", c.cpu_seconds)):
        if num is not None and num <= 0:
            issues.append(doc.issue(("contain", key), f"{key} must be a positive number"))
    from warden.hosts import HostError, parse_pattern

    for key, pats in (("allow", spec.network.allow), ("deny", spec.network.deny),
                      ("egress", spec.network.egress or [])):  # fmt: skip
        for i, pat in enumerate(pats):
            try:
                parse_pattern(pat)
            except HostError as exc:
                issues.append(doc.issue(("network", key, i), f"host pattern {pat!r}: {exc} (use "
                                        "host, *.domain, host:port, an IP or a CIDR block)"))
    return spec


def load_policy(layers: list[Layer]) -> Policy:
    """Merge layers into the effective policy; every problem in every file is raised at once."""
    return merge_policy(parse_layers(layers))


def parse_layers(layers: list[Layer]) -> list[tuple[Layer, PolicySpec]]:
    """Read and validate every layer (raises :class:`PolicyError` listing every problem)."""
    issues: list[ConfigIssue] = []
    parsed = [(layer, _parse(layer, issues)) for layer in layers]
    if issues:
        raise PolicyError(issues)
    return [(layer, spec) for layer, spec in parsed if spec is not None]


def merge_policy(parsed: list[tuple[Layer, PolicySpec]]) -> Policy:
    """The effective policy of validated layers, weakest first (pure: reads no file)."""
    trust_project = any(
        spec is not None and spec.policy.trust_project
        for layer, spec in parsed
        if layer.kind in ("user", "explicit", "builtin")
    )
    state: dict[str, object] = {
        "name": "default", "default": Verdict.ALLOW, "on_error": Verdict.DENY, "workspace": None,
        "write_outside": Verdict.ASK, "unknown_tool": Verdict.ALLOW,
        "read_outside": Verdict.ASK, "cmd_outside": Verdict.ASK,
        "mcp_elicitation_secrets": Verdict.ALLOW,
    }  # fmt: skip
    lists: dict[str, list[str]] = {k: [] for k in (
        "read_deny", "write_allow", "trusted_read", "net_allow", "net_deny", "cmd_deny",
        "cmd_ask", "trusted_tools", "extra_packs", "disabled", "read_allow", "cmd_allow",
    )}  # fmt: skip
    verdicts: dict[str, Verdict] = {}
    rule_verdicts: dict[str, Verdict] = {}
    rule_enabled: dict[str, bool] = {}
    ignored: list[str] = []
    contain: dict[str, list[str]] = {k: [] for k in ("read", "write", "hide", "protect")}
    limits: dict[str, int | None] = {"memory": None, "pids": None, "cpu_seconds": None}
    unix_sockets = False
    egress: list[str] | None = None
    digest = hashlib.sha256()
    for layer, spec in parsed:
        digest.update(msgspec.json.encode(spec))
        limited = layer.kind == "project" and not trust_project
        where = f"{layer.path}"

        def scalar(key: str, value: str | None, *, limited: bool = limited,
                   where: str = where) -> None:  # fmt: skip
            if value is None:
                return
            v = Verdict.parse(value)
            current = state[key]
            if limited and isinstance(current, Verdict) and v < current:
                ignored.append(f"{where}: {key} = {value} would loosen the policy")
                return
            state[key] = v

        if spec.policy.name and not limited:
            state["name"] = spec.policy.name
        if spec.policy.workspace and not limited:
            state["workspace"] = spec.policy.workspace
        scalar("default", spec.policy.default)
        scalar("on_error", spec.policy.on_error)
        scalar("write_outside", spec.paths.write_outside)
        scalar("unknown_tool", spec.tools.unknown)
        scalar("read_outside", spec.paths.read_outside)
        scalar("cmd_outside", spec.commands.outside)
        scalar("mcp_elicitation_secrets", spec.mcp.elicitation_secrets)
        lists["read_deny"] += spec.paths.read_deny
        lists["net_deny"] += spec.network.deny
        lists["cmd_deny"] += spec.commands.deny
        lists["cmd_ask"] += spec.commands.ask
        lists["extra_packs"] += [str(layer.path.parent / p) for p in spec.packs.extra]
        # an allowlist is a restriction: a project layer may add one (tightening), but entries
        # it adds to an allowlist that already exists would widen it
        for key, values in (("read_allow", spec.paths.read_allow),
                            ("cmd_allow", spec.commands.allow)):  # fmt: skip
            if limited and values and lists[key]:
                ignored.append(f"{where}: {key} entries are ignored in a project policy")
            else:
                lists[key] += values
        loosening = {
            "write_allow": spec.paths.write_allow, "trusted_read": spec.paths.trusted_read,
            "net_allow": spec.network.allow, "trusted_tools": spec.tools.trusted,
            "disabled": spec.packs.disable,
        }  # fmt: skip
        for key, values in loosening.items():
            if limited and values:
                ignored.append(f"{where}: {key} entries are ignored in a project policy")
                continue
            lists[key] += values
        for cat, value in spec.verdicts.items():
            v = Verdict.parse(value)
            if limited and cat in verdicts and v < verdicts[cat]:
                ignored.append(f"{where}: verdicts.{cat} = {value} would loosen the policy")
                continue
            verdicts[cat] = v
        for rid, override in spec.rules.items():
            if override.verdict is not None:
                v = Verdict.parse(override.verdict)
                if limited and rid in rule_verdicts and v < rule_verdicts[rid]:
                    ignored.append(f"{where}: rules.{rid} would loosen the policy")
                else:
                    rule_verdicts[rid] = v
            if override.enabled is not None:
                if limited and not override.enabled:
                    ignored.append(f"{where}: rules.{rid} cannot be disabled by a project policy")
                else:
                    rule_enabled[rid] = override.enabled

        c = spec.contain
        contain["hide"] += c.hide
        contain["protect"] += c.protect
        for key, values in (("read", c.read), ("write", c.write)):
            if limited and values:
                ignored.append(f"{where}: contain.{key} entries are ignored in a project policy")
            else:
                contain[key] += values
        if spec.network.egress is not None:
            if limited:
                ignored.append(f"{where}: network.egress is ignored in a project policy")
            else:
                egress = (egress or []) + spec.network.egress
        if c.unix_sockets is not None:
            if limited and c.unix_sockets:
                ignored.append(f"{where}: contain.unix_sockets = true would loosen the policy")
            else:
                unix_sockets = c.unix_sockets
        memory = parse_memory(c.memory) if c.memory is not None else None
        for key, num in (("memory", memory), ("pids", c.pids), ("cpu_seconds", c.cpu_seconds)):
            if num is None:
                continue
            current = limits[key]
            if limited and current is not None and num > current:
                ignored.append(f"{where}: contain.{key} can only be lowered by a project policy")
            else:
                limits[key] = num

    def uniq(values: list[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(values))

    return Policy(
        name=str(state["name"]),
        default=_v(state["default"]),
        on_error=_v(state["on_error"]),
        workspace=state["workspace"] if isinstance(state["workspace"], str) else None,
        read_allow=uniq(lists["read_allow"]),
        read_outside=_v(state["read_outside"]),
        read_deny=uniq(lists["read_deny"]),
        write_allow=uniq(lists["write_allow"]),
        write_outside=_v(state["write_outside"]),
        trusted_read=uniq(lists["trusted_read"]),
        net_allow=uniq(lists["net_allow"]),
        net_deny=uniq(lists["net_deny"]),
        cmd_allow=uniq(lists["cmd_allow"]),
        cmd_outside=_v(state["cmd_outside"]),
        cmd_deny=uniq(lists["cmd_deny"]),
        cmd_ask=uniq(lists["cmd_ask"]),
        verdicts=MappingProxyType(verdicts),
        rule_verdicts=MappingProxyType(rule_verdicts),
        rule_enabled=MappingProxyType(rule_enabled),
        trusted_tools=frozenset(lists["trusted_tools"]),
        unknown_tool=_v(state["unknown_tool"]),
        extra_packs=tuple(Path(p) for p in uniq(lists["extra_packs"])),
        disabled=uniq(lists["disabled"]),
        sources=tuple(f"{layer.kind}:{layer.path}" for layer, _ in parsed),
        contain=ContainPolicy(
            read=uniq(contain["read"]),
            write=uniq(contain["write"]),
            hide=uniq(contain["hide"]),
            protect=uniq(contain["protect"]),
            unix_sockets=unix_sockets,
            memory=limits["memory"],
            pids=limits["pids"],
            cpu_seconds=limits["cpu_seconds"],
        ),
        net_egress=uniq(egress) if egress is not None else None,
        ignored=tuple(ignored),
        mcp_elicitation_secrets=_v(state["mcp_elicitation_secrets"]),
        digest=digest.hexdigest()[:16],
    )


def _v(value: object) -> Verdict:
    assert isinstance(value, Verdict)
    return value
