"""The engine: ``check(action) -> Decision``, compiled once per policy, pure and thread-safe.

Evaluation of one action:

1. trusted tools (policy ``[tools] trusted``) are allowed without analysis;
2. the action is lifted into facts (:mod:`warden.check.analyze`);
3. every enabled rule is matched against the facts (first pass), then combination rules
   (``requires``) against the first pass's findings;
4. the policy adds its own findings: writes outside ``write_allow``, reads of ``read_deny``
   paths, denied hosts and commands;
5. each finding's verdict is the policy's per-rule override, else its per-category verdict,
   else the rule's own; ``analysis.*`` findings take the policy's ``on_error`` verdict;
6. the decision is the strongest verdict, with every finding as evidence; nothing matched means
   the policy's ``default``.

Any exception inside becomes a decision with the policy's ``on_error`` verdict (deny by default)
and the error text: a bug never turns into an allow.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec

from warden.action import Action, ActionKind
from warden.check.analyze import PRIMARY_FIELD as _PRIMARY_FIELD
from warden.check.analyze import analyze, primary_text
from warden.check.facts import Facts, FileAccess, FileOp, Marker, SecretHit
from warden.check.paths import PathContext, glob_regex
from warden.check.rules.compile import (
    EXEC_FLAGS,
    ActionView,
    CompiledRule,
    CompiledSelection,
    CompileEnv,
    Gate,
    PathReach,
    compile_rule,
    expand_path_pattern,
)
from warden.decision import Decision, Evidence, Finding, Severity, Verdict
from warden.errors import ConfigIssue, RuleError

if TYPE_CHECKING:
    from warden.check.policy.load import Policy
    from warden.check.rules.load import LoadedRule

__all__ = ["CheckContext", "Engine"]

#: Agent-internal tools whose arguments are not actions on the machine (plans, to-do lists,
#: sub-agent prompts): never "unknown tools".
_KNOWN_TOOLS = frozenset({"TodoWrite", "Task", "ExitPlanMode", "BashOutput", "KillShell",
                          "KillBash", "SlashCommand", "save_memory", "write_todos"})  # fmt: skip

#: Actions of tools warden may not know (enum members bound once: a class attribute lookup on
#: an enum costs about a microsecond on Python 3.11).
_TOOL_KINDS = frozenset({ActionKind.MCP, ActionKind.CUSTOM})

#: Advice for the findings the policy itself produces.
_POLICY_ADVICE = {
    "policy.write-outside-workspace": "Keep changes inside the project directory, or ask the "
    "user to allow the path in [paths] write_allow.",
    "policy.read-denied": "The user's policy puts this path off limits.",
    "policy.host-denied": "The user's policy forbids contacting this host.",
    "policy.command-denied": "The user's policy forbids this command.",
    "policy.command-not-allowed": "Only the commands on the policy's allowlist run unasked.",
    "policy.read-outside": "Read only what the task needs inside the allowed paths, or ask.",
}

#: Evidence text is cut to this many characters: enough to recognise, short enough to read.
EVIDENCE_CHARS = 160

#: Path contexts remembered per engine (see :meth:`Engine.paths_for`); dropped when full.
_CONTEXTS = 256

#: File operations the policy lists judge, bound once (an enum member lookup is a Python-level
#: descriptor call on 3.11; tuples test members by identity first).
_POLICY_WRITES = (FileOp.WRITE, FileOp.APPEND, FileOp.DELETE, FileOp.CHMOD)
_POLICY_READS = (FileOp.READ, FileOp.LIST, FileOp.EXEC)
_TRUSTED_OPS = (FileOp.READ, FileOp.LIST)
#: "not remembered" in :meth:`Engine._paths` (None is a remembered answer)
_UNSET: Any = object()


class CheckContext(msgspec.Struct, frozen=True):
    """Where the action runs, when the action itself does not say."""

    cwd: str | None = None
    workspace: str | None = None
    home: str | None = None


_NO_CONTEXT = CheckContext()


class Engine:
    """Compiled rules plus the policy; immutable after construction."""

    def __init__(self, policy: Policy, rules: Iterable[LoadedRule], *, home: str | None = None):
        self.policy = policy
        self.home = home or os.path.expanduser("~")
        env = CompileEnv(home=self.home, host_allowed=policy.host_allowed)
        issues: list[ConfigIssue] = []
        compiled: list[CompiledRule] = []
        disabled = [re.compile(fnmatch.translate(g)) for g in policy.disabled]
        for loaded in rules:
            spec = loaded.spec
            enabled = policy.rule_enabled.get(spec.id, spec.enabled)
            if not enabled or any(rx.match(spec.id) for rx in disabled):
                continue
            try:
                compiled.append(compile_rule(spec, env, source=loaded.source))
            except ValueError as exc:
                file, _, line = loaded.source.rpartition(":")
                issues.append(ConfigIssue(file or loaded.source, int(line) if line.isdigit()
                                          else None, f"rule {spec.id!r}: {exc}"))  # fmt: skip
        if issues:
            raise RuleError(issues)
        env.paths.compile()
        self._path_index = env.paths
        self.rules: tuple[CompiledRule, ...] = tuple(r for r in compiled if not r.combines)
        self.combos: tuple[CompiledRule, ...] = tuple(r for r in compiled if r.combines)
        self._index = _RuleIndex.build(self.rules)
        self._advice_of = {r.id: r.advice for r in compiled if r.advice}
        self._path_lists = {
            "write_allow": policy.write_allow, "read_allow": policy.read_allow,
            "read_deny": policy.read_deny, "trusted_read": policy.trusted_read,
        }  # fmt: skip
        self._path_cache: dict[tuple[str, str], re.Pattern[str] | None] = {}
        #: (cwd as given, context workspace, context home) -> PathContext: sessions judge many
        #: actions in a few directories, and two ``abspath`` calls cost ~8% of a plain command
        self._contexts: dict[tuple[str, str | None, str | None], PathContext] = {}
        self._cmd_allow = tuple(re.compile(fnmatch.translate(p)) for p in policy.cmd_allow)
        self._cmd_deny = tuple(re.compile(fnmatch.translate(p)) for p in policy.cmd_deny)
        self._cmd_ask = tuple(re.compile(fnmatch.translate(p)) for p in policy.cmd_ask)
        self._cmd_lists = bool(self._cmd_allow or self._cmd_deny or self._cmd_ask)
        #: whether a finding may be waived as a read of ``trusted_read`` paths (most policies
        #: list none: then no finding pays the list's lookup)
        self._trusting = bool(policy.trusted_read)
        #: the decision when no rule matched (most actions): built once and shared, a Decision
        #: being frozen
        self._no_match = Decision(verdict=policy.default, reason="no rule matched",
                                  policy=policy.digest)  # fmt: skip

    @classmethod
    def builtin(cls, *, home: str | None = None) -> Engine:
        """The built-in policy and packs alone: no user or project layer (demo, lint, tests)."""
        from warden.check.policy.load import Layer, builtin_policy_path, load_policy
        from warden.check.rules.load import load_packs

        return cls(load_policy([Layer(builtin_policy_path(), "builtin")]), load_packs(), home=home)

    @classmethod
    def from_files(
        cls, *, policy_files: Iterable[str] = (), workspace: str | None = None,
        packs: Iterable[str] = (), home: str | None = None, cache: bool = True,
    ) -> Engine:  # fmt: skip
        """The engine for the layered default policy plus explicit files (raises ConfigError).

        The validated inputs come from the engine cache when it applies (``cache=False`` or
        ``WARDEN_NO_CACHE=1``: from source every time); see :mod:`warden.check.cache`."""
        from warden.check.cache import load_inputs

        policy, rules = load_inputs(workspace=workspace, policy_files=policy_files,
                                    packs=packs, use_cache=cache)  # fmt: skip
        return cls(policy, rules, home=home)

    # --- evaluation --------------------------------------------------------------------------

    def paths_for(self, action: Action, context: CheckContext | None = None) -> PathContext:
        ctx = context or _NO_CONTEXT
        raw_cwd = action.cwd or ctx.cwd or os.getcwd()
        key = (raw_cwd, ctx.workspace, ctx.home)
        found = self._contexts.get(key)
        if found is not None:
            return found
        cwd = os.path.abspath(raw_cwd)
        workspace = ctx.workspace or self.policy.workspace or cwd
        home = ctx.home or self.home
        made = PathContext(cwd=cwd, home=home, workspace=os.path.abspath(workspace))
        # remembered (keyed on the strings it is a pure function of) only when both paths are
        # absolute: a relative one is resolved against the process's cwd, which may change
        if raw_cwd.startswith("/") and workspace.startswith("/"):
            if len(self._contexts) >= _CONTEXTS:
                self._contexts.clear()
            self._contexts[key] = made
        return made

    def check(self, action: Action, context: CheckContext | None = None) -> Decision:
        """Judge one action. Never raises: internal errors come back as fail-closed decisions."""
        try:
            return self._check(action, context)
        except Exception as exc:  # fail closed by construction
            verdict = self.policy.on_error
            return Decision(
                verdict=verdict,
                severity=Severity.HIGH,
                reason="warden could not analyse this action (internal error)",
                agent_reason="warden could not analyse this action and blocked it to be safe; "
                "try a simpler form of the same step or ask the user.",
                error=f"{type(exc).__name__}: {exc}",
                policy=self.policy.digest,
            )

    def facts(self, action: Action, context: CheckContext | None = None) -> Facts:
        return analyze(action, self.paths_for(action, context))

    def _check(self, action: Action, context: CheckContext | None) -> Decision:
        if action.tool and action.tool in self.policy.trusted_tools:
            return Decision(verdict=Verdict.ALLOW, reason=f"trusted tool {action.tool}",
                            policy=self.policy.digest)  # fmt: skip
        paths = self.paths_for(action, context)
        facts = analyze(action, paths)
        return self.decide(action, facts, paths)

    def decide(self, action: Action, facts: Facts, paths: PathContext) -> Decision:
        """Rules and policy over already-computed facts (the engine's pure core)."""
        text = primary_text(action)
        field = _PRIMARY_FIELD.get(action.kind, "input")
        view = ActionView(action, text)
        cut = _Cut()  # one per decision: findings often quote the same text
        findings: list[Finding] = []
        # which path-index ids the action's files reach: file selections whose path condition
        # no access can meet are skipped (PathReach says when that is exact)
        reach = (PathReach(facts.files, self._path_index)
                 if facts.files and self._path_index.ready else None)  # fmt: skip
        for rule, selections in self._candidates(facts, action.kind, reach):
            hit = self._match(rule, selections, facts, view, reach)
            if hit is not None and not (self._trusting
                                        and self._trusted_hit(hit, paths.workspace)):
                findings.append(self._finding(rule, hit, text, field, cut))
        if facts.files or facts.net or (facts.execs and self._cmd_lists):
            findings.extend(self._policy_findings(facts, paths, text, field, cut))
        if findings:  # every combination rule requires some finding
            for combo in self.combos:
                related = _combo_related(combo, findings)
                if related is not None:
                    findings.append(self._combo_finding(combo, related))
        return self._decision(findings, action)

    def _candidates(
        self, facts: Facts, kind: str, reach: PathReach | None
    ) -> tuple[_Candidate, ...]:
        """The rules (with their selections) worth trying on ``facts``: the index's list, or,
        when no file access reaches any path pattern (a glob or a directory taken whole
        included: :class:`PathReach` answers for them too), the same list without the
        selections that need a path (each would be skipped by :meth:`_match` anyway; most file
        accesses name ordinary files)."""
        present = _Present.of(facts, kind)
        if reach is not None and not reach.plain and not reach.literal:
            return self._index.pathless(present)
        return self._index.candidates(present)

    def _match(
        self, rule: CompiledRule, selections: tuple[CompiledSelection, ...], facts: Facts,
        view: ActionView, reach: PathReach | None = None,
    ) -> tuple[Any, ...] | None:  # fmt: skip
        # the selections already passed their gates (see _RuleIndex.candidates)
        for sel in selections:
            if reach is not None and sel.path_needs and not reach.may_meet(sel.path_needs):
                continue  # no file access can meet its path condition: it cannot match
            hit = sel.match(facts, view)
            if hit is not None:
                if any(u.match(facts, view) is not None for u in rule.unless):
                    return None
                return hit
        return None

    def _verdict(self, rule_id: str, category: str, default: Verdict) -> Verdict:
        if rule_id in self.policy.rule_verdicts:
            return self.policy.rule_verdicts[rule_id]
        if category in self.policy.verdicts:
            return self.policy.verdicts[category]
        if category == "analysis":
            return self.policy.on_error
        return default

    def _finding(
        self, rule: CompiledRule, hit: tuple[Any, ...], text: str, field: str, cut: _Cut
    ) -> Finding:
        return Finding(
            rule=rule.id,
            verdict=self._verdict(rule.id, rule.category, rule.verdict),
            severity=rule.severity,
            category=rule.category,
            reason=rule.reason,
            techniques=rule.techniques,
            evidence=tuple(_evidence(item, text, field, cut) for item in hit),
        )

    def _combo_finding(self, combo: CompiledRule, related: list[Finding]) -> Finding:
        techniques = tuple(dict.fromkeys(t for f in related for t in f.techniques))
        evidence = tuple(dict.fromkeys(e for f in related for e in f.evidence))
        return Finding(
            rule=combo.id,
            verdict=self._verdict(combo.id, combo.category, combo.verdict),
            severity=combo.severity,
            category=combo.category,
            reason=combo.reason,
            techniques=techniques or combo.techniques,
            evidence=evidence,
            related=tuple(f.rule for f in related),
        )

    # --- policy-derived findings --------------------------------------------------------------

    def _paths(self, which: str, workspace: str) -> re.Pattern[str] | None:
        """A policy path list (``write_allow``, ``read_allow``, ``read_deny``, ``trusted_read``)
        as one regex for ``workspace`` (``$WORKSPACE`` and ``~`` expanded); None when empty."""
        key = (which, workspace)
        rx = self._path_cache.get(key, _UNSET)
        if rx is not _UNSET:
            return rx  # type: ignore[no-any-return]
        root = workspace.rstrip("/") or "/"
        sources = [glob_regex(expand_path_pattern(p.replace("$WORKSPACE", root), self.home))
                   for p in self._path_lists[which]]  # fmt: skip
        rx = re.compile("|".join(f"(?:{s})" for s in sources), re.DOTALL) if sources else None
        if len(self._path_cache) < 1024:
            self._path_cache[key] = rx
        return rx

    def _policy_findings(
        self, facts: Facts, paths: PathContext, text: str, field: str, cut: _Cut
    ) -> list[Finding]:
        out: list[Finding] = []
        writable = self._paths("write_allow", paths.workspace)
        readable = self._paths("read_allow", paths.workspace)
        denied = self._paths("read_deny", paths.workspace)
        reads = _POLICY_READS

        def add(rule: str, category: str, verdict: Verdict, severity: Severity, reason: str,
                item: Any) -> None:  # fmt: skip
            out.append(Finding(rule=rule, verdict=self._verdict(rule, category, verdict),
                               severity=severity, category=category, reason=reason,
                               evidence=(_evidence(item, text, field, cut),)))  # fmt: skip

        for acc in facts.files:
            forms = acc.forms()
            if acc.op in _POLICY_WRITES and not (
                writable is not None and all(writable.match(f) for f in forms)
            ):
                add("policy.write-outside-workspace", "policy", self.policy.write_outside,
                    Severity.MEDIUM, f"{acc.op.value}s {acc.path}, outside the paths the "
                    "policy lets the agent change", acc)  # fmt: skip
            if acc.op in reads and readable is not None and not all(
                readable.match(f) for f in forms
            ):
                add("policy.read-outside", "policy", self.policy.read_outside, Severity.MEDIUM,
                    f"reads {acc.path}, outside the paths the policy lets the agent read", acc)
            if acc.op in reads and denied is not None and any(denied.match(f) for f in forms):
                add("policy.read-denied", "policy", Verdict.DENY, Severity.HIGH,
                    f"reads {acc.path}, which the policy denies", acc)  # fmt: skip
        for net in facts.net:
            if net.host and self.policy.host_denied(net.host, net.port):
                add("policy.host-denied", "policy", Verdict.DENY, Severity.HIGH,
                    f"contacts {net.host}, which the policy denies", net)  # fmt: skip
        if self._cmd_lists:
            for ex in facts.execs:
                line = " ".join(ex.argv)
                if self._cmd_allow and not any(rx.match(line) for rx in self._cmd_allow):
                    add("policy.command-not-allowed", "policy", self.policy.cmd_outside,
                        Severity.MEDIUM, f"runs `{line[:60]}`, which is not on the policy's "
                        "command allowlist", ex)  # fmt: skip
                if any(rx.match(line) for rx in self._cmd_deny):
                    add("policy.command-denied", "policy", Verdict.DENY, Severity.HIGH,
                        f"runs `{line[:60]}`, which the policy denies", ex)  # fmt: skip
                elif any(rx.match(line) for rx in self._cmd_ask):
                    add("policy.command-ask", "policy", Verdict.ASK, Severity.MEDIUM,
                        f"runs `{line[:60]}`, which the policy asks about", ex)  # fmt: skip
        return out

    def _trusted_hit(self, hit: tuple[Any, ...], workspace: str) -> bool:
        """A match made only of reads of ``trusted_read`` paths (the user vouched for them)."""
        trusted = self._paths("trusted_read", workspace)
        if trusted is None:
            return False
        return all(
            isinstance(item, FileAccess)
            and item.op in _TRUSTED_OPS
            and all(trusted.match(f) for f in item.forms())
            for item in hit
        )

    # --- the decision ------------------------------------------------------------------------

    def _decision(self, findings: list[Finding], action: Action) -> Decision:
        if not findings:
            unknown_tool = action.kind in _TOOL_KINDS and action.tool not in _KNOWN_TOOLS
            if unknown_tool and self.policy.unknown_tool is not self.policy.default:
                name = action.tool or "this tool"
                return Decision(
                    verdict=self.policy.unknown_tool,
                    reason=f"no rule matched; {name} is not a tool warden knows ([tools] unknown)",
                    policy=self.policy.digest,
                )
            return self._no_match
        findings.sort(key=lambda f: (f.verdict, f.severity, bool(f.related)), reverse=True)
        top = findings[0]
        verdict = top.verdict
        winners = [f for f in findings if f.verdict == verdict]
        rules = list(dict.fromkeys([r for f in winners for r in (f.rule, *f.related)]))
        techniques = tuple(dict.fromkeys(t for f in winners for t in f.techniques))
        categories = tuple(dict.fromkeys(f.category for f in winners))
        if verdict is Verdict.ALLOW:
            return Decision(verdict=verdict, reason="allowed; noted: " + top.reason,
                            rules=tuple(rules), findings=tuple(findings),
                            policy=self.policy.digest)  # fmt: skip
        advice = self._advice(top.rule)
        verb = {Verdict.ASK: "needs the user's approval", Verdict.DENY: "blocked",
                Verdict.KILL: "blocked and the session stopped"}[verdict]  # fmt: skip
        agent = f"warden {verb}: {top.reason} (rule {top.rule})."
        if advice:
            agent += " " + advice
        return Decision(
            verdict=verdict,
            severity=top.severity,
            reason=top.reason,
            agent_reason=agent,
            rules=tuple(rules),
            categories=categories,
            techniques=techniques,
            findings=tuple(findings),
            policy=self.policy.digest,
        )

    def _advice(self, rule_id: str) -> str:
        return self._advice_of.get(rule_id) or _POLICY_ADVICE.get(rule_id, "")


class _RuleIndex:
    """Selections keyed by something an action must have for them to match.

    Each selection is filed under its most selective requirement: one of its exact marker
    names, program names, file operations or network directions, an exec flag it requires
    (``privileged``, ``background``, ``dynamic``: ``sudo`` rules are not tried on every
    ``ls``), or else a subject it needs (``secret``, ``env_set``...). An action only visits
    the selections filed under what it has, so a typical action tries a handful of selections
    instead of every rule. Rules keep their original order, so decisions do not depend on the
    index. At decision time, file selections whose path condition none of the action's
    accesses can meet are skipped as well (:class:`~warden.check.rules.compile.PathReach`: one
    path-index lookup per access instead of one predicate call per selection and access).

    What an action "has" (:class:`_Present`) is a handful of names, and actions repeat them
    (every ``git`` call has the same ones), so the candidate list for a given :class:`_Present`
    is computed once, gates already checked, and remembered (bounded). It depends on those
    names and the immutable rules alone, never on an action's paths, text or verdict.
    """

    #: Distinct "what an action has" sets remembered; dropped when full. An entry takes about
    #: 1.5 KB (measured: +3 MB resident for 2,197 entries), so at most ~6 MB. A session repeats a
    #: few hundred; the bench corpus of 6,402 deliberately varied actions has 2,197, which at
    #: 1,024 entries were dropped and rebuilt over and over (7-10% of the check time).
    CACHE = 4096

    __slots__ = ("_cache", "_pathless", "always", "buckets", "rules")

    def __init__(
        self, buckets: dict[str, tuple[tuple[int, int], ...]],
        always: tuple[tuple[int, int], ...], rules: tuple[CompiledRule, ...],
    ) -> None:  # fmt: skip
        self.buckets = buckets
        self.always = always
        self.rules = rules
        self._cache: dict[_Present, tuple[_Candidate, ...]] = {}
        self._pathless: dict[_Present, tuple[_Candidate, ...]] = {}

    @classmethod
    def build(cls, rules: tuple[CompiledRule, ...]) -> _RuleIndex:
        buckets: dict[str, list[tuple[int, int]]] = {}
        always: list[tuple[int, int]] = []
        for rpos, rule in enumerate(rules):
            for spos, sel in enumerate(rule.selections):
                keys = _index_keys(sel.gate)
                if keys is None:
                    always.append((rpos, spos))
                for key in keys or ():
                    buckets.setdefault(key, []).append((rpos, spos))
        return cls({k: tuple(v) for k, v in buckets.items()}, tuple(always), rules)

    def candidates(self, present: _Present) -> tuple[_Candidate, ...]:
        """The rules worth trying, in rule order, each with its selections whose gates
        ``present`` passes (in selection order)."""
        found = self._cache.get(present)
        if found is None:
            found = self._candidates(present)
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[present] = found
        return found

    def pathless(self, present: _Present) -> tuple[_Candidate, ...]:
        """:meth:`candidates` without the selections that need a path (for an action whose
        file accesses reach no path pattern), remembered the same way."""
        found = self._pathless.get(present)
        if found is None:
            found = tuple(
                (rule, kept)
                for rule, sels in self.candidates(present)
                if (kept := tuple(sel for sel in sels if not sel.path_needs))
            )
            if len(self._pathless) >= self.CACHE:
                self._pathless.clear()
            self._pathless[present] = found
        return found

    def _candidates(self, present: _Present) -> tuple[_Candidate, ...]:
        hits: set[tuple[int, int]] = set(self.always)
        get = self.buckets.get
        for key in present.index_keys():
            bucket = get(key)
            if bucket:
                hits.update(bucket)
        by_rule: dict[int, list[CompiledSelection]] = {}
        for rpos, spos in sorted(hits):
            sel = self.rules[rpos].selections[spos]
            if present.admits(sel.gate):
                by_rule.setdefault(rpos, []).append(sel)
        return tuple((self.rules[r], tuple(sels)) for r, sels in by_rule.items())


_Candidate = tuple[CompiledRule, tuple[CompiledSelection, ...]]


def _index_keys(gate: Gate) -> tuple[str, ...] | None:
    if gate.marker_names is not None:
        return tuple("m:" + n for n in gate.marker_names)
    if gate.exec_names is not None:
        return tuple("e:" + n for n in gate.exec_names)
    if gate.file_ops is not None:
        return tuple("f:" + n for n in gate.file_ops)
    if gate.net_dirs is not None:
        return tuple("n:" + n for n in gate.net_dirs)
    if gate.exec_flags:  # all are required: filing under one is enough
        return ("x:" + min(gate.exec_flags),)
    if gate.action_kinds is not None:
        return tuple("k:" + k for k in gate.action_kinds)
    for subject in ("secret", "env_set", "env_read", "marker", "net", "file", "exec"):
        if subject in gate.subjects:
            return ("s:" + subject,)
    return None


_NO_NAMES: frozenset[str] = frozenset()

_NAME = attrgetter("name")
#: The members themselves, not ``.value`` (a Python-level property on 3.11): a StrEnum member
#: hashes and compares as its value, so the sets and the cache keys are the same.
_OP = attrgetter("op")
_DIRECTION = attrgetter("direction")

#: Subject names present, by bit mask (exec 1, file 2, net 4, marker 8, env_set 16, env_read 32,
#: secret 64): one list index instead of a list, seven appends and a new frozenset per action.
_SUBJECT_SETS = tuple(
    frozenset(name for bit, name in enumerate(
        ("exec", "file", "net", "marker", "env_set", "env_read", "secret")) if mask >> bit & 1)
    for mask in range(128)
)  # fmt: skip


class _Present(msgspec.Struct, frozen=True, cache_hash=True):
    """Which subjects, marker names, program names, file operations and network directions an
    action's facts contain, and the action's kind (hashable: the key of the candidate cache)."""

    subjects: frozenset[str]
    markers: frozenset[str]
    execs: frozenset[str]
    file_ops: frozenset[str]
    net_dirs: frozenset[str]
    exec_flags: frozenset[str]
    kind: str

    @classmethod
    def of(cls, facts: Facts, kind: str) -> _Present:
        execs, files, net, markers = facts.execs, facts.files, facts.net, facts.markers
        names = flags = _NO_NAMES
        if execs:
            names = frozenset(map(_NAME, execs))
            for e in execs:  # flags are rare: one cheap pass, the full answer only then
                if e.privileged or e.background or e.dynamic:
                    flags = frozenset(f for f in EXEC_FLAGS if any(getattr(x, f) for x in execs))
                    break
        mask = ((1 if execs else 0) | (2 if files else 0) | (4 if net else 0)
                | (8 if markers else 0) | (16 if facts.env_set else 0)
                | (32 if facts.env_read else 0) | (64 if facts.secrets else 0))  # fmt: skip
        return cls(
            _SUBJECT_SETS[mask],
            frozenset(map(_NAME, markers)) if markers else _NO_NAMES,
            names,
            frozenset(map(_OP, files)) if files else _NO_NAMES,
            frozenset(map(_DIRECTION, net)) if net else _NO_NAMES,
            flags,
            kind,
        )

    def index_keys(self) -> list[str]:
        """The index keys this action reaches (see :func:`_index_keys`)."""
        return [*("m:" + n for n in self.markers), *("e:" + n for n in self.execs),
                *("f:" + n for n in self.file_ops), *("n:" + n for n in self.net_dirs),
                *("x:" + n for n in self.exec_flags), "k:" + self.kind,
                *("s:" + n for n in self.subjects)]  # fmt: skip

    def admits(self, gate: Gate) -> bool:
        """Whether a selection with ``gate`` could match an action with these facts."""
        if not gate.subjects <= self.subjects:
            return False
        if gate.marker_names is not None and gate.marker_names.isdisjoint(self.markers):
            return False
        if gate.exec_names is not None and gate.exec_names.isdisjoint(self.execs):
            return False
        if gate.file_ops is not None and gate.file_ops.isdisjoint(self.file_ops):
            return False
        if not gate.exec_flags <= self.exec_flags:
            return False
        if gate.action_kinds is not None and self.kind not in gate.action_kinds:
            return False
        return gate.net_dirs is None or not gate.net_dirs.isdisjoint(self.net_dirs)


def _combo_related(combo: CompiledRule, findings: list[Finding]) -> list[Finding] | None:
    related: list[Finding] = []
    for req in combo.requires:
        match = next((f for f in findings if req(f.rule, f.category) and f.rule != combo.id),
                     None)  # fmt: skip
        if match is None:
            return None
        if match not in related:
            related.append(match)
    return related


def _evidence(item: Any, text: str, field: str, cut: _Cut) -> Evidence:
    if isinstance(item, SecretHit):
        return Evidence(field=item.field, text=item.redacted, start=item.span[0],
                        end=item.span[1])  # fmt: skip
    if isinstance(item, Marker):
        f = item.field
        start, end = item.span
        snippet = text[start:end] if f == field and end > start else item.detail
        return Evidence(field=f, text=cut(snippet or item.name), start=start, end=end)
    if isinstance(item, ActionView):
        return Evidence(field=field, text=cut(item.text), start=0, end=len(item.text))
    if isinstance(item, tuple):  # env entries
        return Evidence(field=field, text=cut("=".join(x for x in item if x)))
    span = getattr(item, "span", None)
    if span is not None and span[1] > span[0] and span[1] <= len(text):
        return Evidence(field=field, text=cut(text[span[0] : span[1]]), start=span[0],
                        end=span[1])  # fmt: skip
    label = getattr(item, "path", None) or getattr(item, "url", None) or getattr(item, "name", "")
    return Evidence(field=field, text=cut(str(label)))


class _Cut(dict[str, str]):
    """Evidence as it may be shown and logged: secrets redacted first, then shortened.

    One per decision, remembering what it cut: the findings of one action quote the same command
    again and again, and each redaction is a full secret scan (most of the rule stage's time on an
    action with several findings). Nothing outlives the decision. A dict itself, so that making
    one (every decision does, most never use it) runs no Python ``__init__``."""

    __slots__ = ()

    def __call__(self, text: str) -> str:
        done = self.get(text)
        if done is None:
            from warden.check.secrets import redact_text

            done = redact_text(text[: EVIDENCE_CHARS * 64])
            if len(done) > EVIDENCE_CHARS:
                done = done[: EVIDENCE_CHARS - 1] + "…"
            self[text] = done
        return done
