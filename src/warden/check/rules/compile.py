"""Compile validated rule specs into immutable matchers (compile once, evaluate many).

Every field condition becomes a small predicate over one fact item, built from the operator
tables below (glob sets, regexes, booleans, origin sets). Regexes are compiled with RE2 when it is
installed, so a rule (or a user's policy) cannot make matching super-linear on hostile input.
Compiled rules hold no mutable state and are safe to share between threads.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from warden.action import Action
from warden.check.facts import Facts
from warden.check.paths import glob_regex, globs_intersect
from warden.check.rules.model import RuleSpec, Selection
from warden.decision import Severity, Verdict

__all__ = [
    "CompileEnv",
    "CompiledRule",
    "CompiledSelection",
    "compile_regex",
    "compile_rule",
    "expand_path_pattern",
]

try:  # RE2 guarantees linear-time matching; fall back to re only if it is missing
    import re2 as _re2
except ImportError:  # pragma: no cover - re2 is a declared dependency
    _re2 = None

Pred = Callable[[Any], bool]


def compile_regex(pattern: str) -> Callable[[str], bool]:
    """A search predicate; raises ValueError with a readable message on a bad pattern."""
    if _re2 is not None:
        try:
            rx = _re2.compile(pattern)
        except Exception as exc:
            raise ValueError(f"invalid or non-RE2 regex {pattern!r}: {exc}") from exc
        return lambda s: rx.search(s) is not None
    try:
        prx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
    return lambda s: prx.search(s) is not None


@dataclass(frozen=True, slots=True)
class CompileEnv:
    """What compiling needs to know about the machine and the policy."""

    home: str
    host_allowed: Callable[[str, int | None], bool]
    paths: PathIndex = field(default_factory=lambda: PathIndex())


class PathIndex:
    """Every path pattern of every rule in one RE2 set, matched once per path.

    A path condition is then a set intersection instead of a regex run of its own. Results are
    remembered per path string (a pure function of it; bounded). If RE2 is unavailable or
    refuses a pattern, :attr:`ready` stays False and conditions use their own regexes.
    """

    #: Distinct paths remembered; the cache is dropped when full (paths repeat within sessions).
    CACHE = 8192

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._set: Any = None
        self._cache: dict[str, frozenset[int]] = {}
        self.ready = False

    def add(self, glob: str) -> int:
        """The id of an (expanded) path glob; before :meth:`compile` only."""
        if self.ready:
            raise RuntimeError("path index already compiled")
        return self._ids.setdefault(glob, len(self._ids))

    def compile(self) -> None:
        if _re2 is None or not self._ids:
            return
        regex_set = _re2.Set.FullMatchSet()
        try:
            for glob, ident in sorted(self._ids.items(), key=lambda kv: kv[1]):
                source = glob_regex(glob)
                if regex_set.Add("(?s)" + source.removesuffix(r"\Z")) != ident:
                    return
            regex_set.Compile()
        except Exception:  # an RE2 refusal: keep the per-condition regexes
            return
        self._set = regex_set
        self.ready = True

    def matches(self, path: str) -> frozenset[int]:
        found = self._cache.get(path)
        if found is None:
            hits = self._set.Match(path)
            found = frozenset(hits) if hits else frozenset()
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[path] = found
        return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class _Lazy:
    """A regex compiled on first use: a one-shot process (a hook) compiles only the rules an
    action reaches. Compiling twice from two threads is harmless (the result is the same)."""

    __slots__ = ("_flags", "_rx", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source, self._flags = source, flags
        self._rx: re.Pattern[str] | None = None

    def get(self) -> re.Pattern[str]:
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile(self._source, self._flags)
        return rx


def _name_set(values: Sequence[str]) -> Pred:
    """Exact names use a set; names with glob characters a regex (compiled on first use)."""
    exact = frozenset(v for v in values if not any(c in v for c in "*?["))
    globs = [v for v in values if any(c in v for c in "*?[")]
    if not globs:
        return lambda s: s in exact
    lazy = _Lazy("|".join(fnmatch.translate(g) for g in globs))
    return lambda s: s in exact or lazy.get().match(s) is not None


def expand_path_pattern(pattern: str, home: str) -> str:
    if pattern == "~":
        return home
    if pattern.startswith("~/"):
        return home.rstrip("/") + pattern[1:]
    return pattern


#: Directories remembered per path condition (a pure string function, so caching is safe).
_INSIDE_CACHE = 4096

#: Operations that take a directory's contents whole when given a directory.
_WHOLE_DIR_OPS = frozenset({"read", "delete"})


def _path_pred(values: Sequence[str], env: CompileEnv, *, literal_globs: bool = False) -> Pred:
    """Path conditions. A glob access (``~/.ss?/id_*``) matches when some real path could match
    both; a directory taken whole (``tar cf - ~/.ssh/``, ``grep -r x ~/.aws``) matches when a
    pattern names something inside it. ``literal_globs`` (for ``not_path``) compares a glob access
    as written, so a wildcard cannot talk its way into an exclusion."""
    patterns = [expand_path_pattern(v, env.home) for v in values]
    # one regex for all patterns: a single match per path instead of one per pattern
    combined = _Lazy("|".join(f"(?:{glob_regex(p)})" for p in patterns), re.DOTALL)
    index = env.paths
    ids = frozenset(index.add(p) for p in patterns)
    # "**/x" patterns can be inside any directory; only anchored ones are checked inside one,
    # and only those whose literal start is compatible with the directory
    anchored = [(_literal_prefix(p), p) for p in patterns if not p.startswith("**")]
    # quick screens for "could a pattern name something inside directory D?": some literal
    # prefix is a prefix of D/ (one regex match), or starts with D/ (a bisection)
    starts = sorted(prefix for prefix, _ in anchored)
    prefix_of_dir = _Lazy("|".join(re.escape(prefix) for prefix in starts) or "(?!)")

    def inside_possible(inside: str) -> bool:
        if prefix_of_dir.get().match(inside):
            return True
        at = bisect.bisect_left(starts, inside)
        return at < len(starts) and starts[at].startswith(inside)

    def pred(item: Any) -> bool:
        forms = item.forms()
        if item.glob and not literal_globs:
            return any(globs_intersect(p, f) for p in patterns for f in forms)
        if index.ready:
            for f in forms:  # plain loops: this runs for every file rule on every file access
                if not ids.isdisjoint(index.matches(f)):
                    return True
        else:
            rx = combined.get()
            for f in forms:
                if rx.match(f):
                    return True
        if not literal_globs and item.op in _WHOLE_DIR_OPS and (
            item.recursive or (item.raw.endswith("/") and item.raw.strip("/"))
        ):
            for f in forms:
                if names_inside(f.rstrip("/") + "/"):
                    return True
        return False

    inside_cache: dict[str, bool] = {}

    def names_inside(inside: str) -> bool:
        """Whether some pattern names something inside directory ``inside`` (a pure function
        of the string, so remembered; bounded)."""
        known = inside_cache.get(inside)
        if known is not None:
            return known
        found = inside_possible(inside) and any(
            (prefix.startswith(inside) or inside.startswith(prefix))
            and globs_intersect(p, inside + "**", shell=False)
            for prefix, p in anchored
        )
        if len(inside_cache) < _INSIDE_CACHE:
            inside_cache[inside] = found
        return found

    return pred


def _literal_prefix(glob: str) -> str:
    cut = min((i for i in (glob.find(c) for c in "*?[") if i >= 0), default=len(glob))
    return glob[:cut]


def _field(attr: str, inner: Pred) -> Pred:
    return lambda item: inner(getattr(item, attr))


def _any_of(attr: str, inner: Pred) -> Pred:
    return lambda item: any(inner(v) for v in getattr(item, attr))


def _origins(attr: str, values: Sequence[str]) -> Pred:
    wanted = frozenset(values)
    return lambda item: not wanted.isdisjoint(getattr(item, attr))


def _bool(attr: str, value: bool) -> Pred:
    return lambda item: bool(getattr(item, attr)) is value


def _exec_preds(c: Any, env: CompileEnv) -> list[Pred]:
    preds: list[Pred] = []
    if c.name is not None:
        preds.append(_field("name", _name_set(_as_list(c.name))))
    if c.args is not None:
        preds.append(_any_of("args", _name_set(_as_list(c.args))))
    if c.argv is not None:
        rx = compile_regex(c.argv)
        preds.append(lambda item: rx(" ".join(item.argv)))
    if c.via is not None:
        preds.append(_any_of("via", _name_set(_as_list(c.via))))
    for attr in ("stdin", "args_from"):
        if getattr(c, attr) is not None:
            preds.append(_origins(attr, _as_list(getattr(c, attr))))
    for attr in ("privileged", "background", "dynamic"):
        if getattr(c, attr) is not None:
            preds.append(_bool(attr, getattr(c, attr)))
    return preds


def _file_preds(c: Any, env: CompileEnv) -> list[Pred]:
    preds: list[Pred] = []
    if c.op is not None:
        preds.append(_field("op", _name_set(_as_list(c.op))))
    if c.path is not None:
        preds.append(_path_pred(_as_list(c.path), env))
    if c.not_path is not None:
        excluded = _path_pred(_as_list(c.not_path), env, literal_globs=True)
        preds.append(lambda item: not excluded(item))
    for attr in ("in_workspace", "glob", "recursive"):
        if getattr(c, attr) is not None:
            preds.append(_bool(attr, getattr(c, attr)))
    if c.by is not None:
        preds.append(_field("by", _name_set(_as_list(c.by))))
    return preds


def _net_preds(c: Any, env: CompileEnv) -> list[Pred]:
    preds: list[Pred] = []
    if c.direction is not None:
        preds.append(_field("direction", _name_set(_as_list(c.direction))))
    if c.host is not None:
        preds.append(_field("host", _name_set(_as_list(c.host))))
    if c.allowed is not None:
        want = c.allowed
        allowed = env.host_allowed
        preds.append(lambda item: item.host != "" and allowed(item.host, item.port) is want)
    if c.scheme is not None:
        preds.append(_field("scheme", _name_set(_as_list(c.scheme))))
    if c.port is not None:
        ports = frozenset(_as_list(c.port))
        preds.append(lambda item: item.port in ports)
    if c.sends is not None:
        preds.append(_origins("sends", _as_list(c.sends)))
    if c.by is not None:
        preds.append(_field("by", _name_set(_as_list(c.by))))
    return preds


def _marker_preds(c: Any, env: CompileEnv) -> list[Pred]:
    preds = [_field("name", _name_set(_as_list(c.name)))]
    if c.detail is not None:
        rx = compile_regex(c.detail)
        preds.append(lambda item: rx(item.detail))
    if c.not_detail is not None:
        nrx = compile_regex(c.not_detail)
        preds.append(lambda item: not nrx(item.detail))
    return preds


def _env_preds(c: Any, env: CompileEnv) -> list[Pred]:
    names = _name_set(_as_list(c.name))
    preds: list[Pred] = [lambda item: names(item[0])]
    if c.value is not None:
        rx = compile_regex(c.value)
        preds.append(lambda item: rx(item[1]))
    return preds


def _env_read_preds(c: Any, env: CompileEnv) -> list[Pred]:
    names = _name_set(_as_list(c.name))
    return [lambda item: names(item[0])]


def _secret_preds(c: Any, env: CompileEnv) -> list[Pred]:
    preds: list[Pred] = []
    if c.kind is not None:
        preds.append(_field("kind", _name_set(_as_list(c.kind))))
    if c.field is not None:
        preds.append(_field("field", _name_set(_as_list(c.field))))
    return preds


def _action_preds(c: Any, env: CompileEnv) -> list[Pred]:
    preds: list[Pred] = []
    if c.kind is not None:
        kinds = _name_set(_as_list(c.kind))
        preds.append(lambda a: kinds(a.action.kind.value))
    if c.tool is not None:
        tools = _name_set(_as_list(c.tool))
        preds.append(lambda a: tools(a.action.tool))
    if c.mcp_server is not None:
        servers = _name_set(_as_list(c.mcp_server))
        preds.append(lambda a: servers(a.action.mcp_server or ""))
    if c.text is not None:
        rx = compile_regex(c.text)
        preds.append(lambda a: rx(a.text))
    return preds


#: subject name -> (predicate builder, how to get the items from a _Subjects)
_SUBJECTS: dict[str, Callable[[Any, CompileEnv], list[Pred]]] = {
    "exec": _exec_preds,
    "file": _file_preds,
    "net": _net_preds,
    "marker": _marker_preds,
    "env_set": _env_preds,
    "env_read": _env_read_preds,
    "secret": _secret_preds,
    "action": _action_preds,
}


@dataclass(frozen=True, slots=True)
class ActionView:
    """The single item of the ``action`` subject."""

    action: Action
    text: str


def subject_items(name: str, facts: Facts, view: ActionView) -> Sequence[Any]:
    if name == "exec":
        return facts.execs
    if name == "file":
        return facts.files
    if name == "net":
        return facts.net
    if name == "marker":
        return facts.markers
    if name == "env_set":
        return facts.env_set
    if name == "env_read":
        return [(n, "") for n in facts.env_read]
    if name == "secret":
        return facts.secrets
    return (view,)


@dataclass(frozen=True, slots=True)
class Gate:
    """What an action must have before a selection is worth evaluating (cheap set checks)."""

    subjects: frozenset[str]
    marker_names: frozenset[str] | None = None  # exact marker names, one of which must occur
    exec_names: frozenset[str] | None = None  # exact program names, one of which must run
    file_ops: frozenset[str] | None = None  # file operations, one of which must occur
    net_dirs: frozenset[str] | None = None  # network directions, one of which must occur


@dataclass(frozen=True, slots=True)
class CompiledSelection:
    """Subject conditions; each must be met by some item (all predicates on the same item)."""

    conds: tuple[tuple[str, tuple[Pred, ...]], ...]
    gate: Gate
    match: Callable[[Facts, ActionView], tuple[Any, ...] | None]

    def match_slow(self, facts: Facts, view: ActionView) -> tuple[Any, ...] | None:
        """The reference semantics of :attr:`match` (which is generated code): the items that
        satisfied each subject, or None."""
        hits: list[Any] = []
        for subject, preds in self.conds:
            for item in subject_items(subject, facts, view):
                if all(p(item) for p in preds):
                    hits.append(item)
                    break
            else:
                return None
        return tuple(hits)

    @property
    def subjects(self) -> frozenset[str]:
        return frozenset(s for s, _ in self.conds)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    category: str
    severity: Severity
    verdict: Verdict
    techniques: tuple[str, ...]
    description: str
    reason: str
    advice: str
    selections: tuple[CompiledSelection, ...]
    unless: tuple[CompiledSelection, ...]
    requires: tuple[Callable[[str, str], bool], ...]
    source: str
    spec: RuleSpec

    @property
    def combines(self) -> bool:
        return bool(self.requires)


def _compile_selection(sel: Selection, env: CompileEnv) -> CompiledSelection:
    conds: list[tuple[str, tuple[Pred, ...]]] = []
    for subject, builder in _SUBJECTS.items():
        cond = getattr(sel, subject)
        if cond is None:
            continue
        preds = builder(cond, env)
        if not preds:
            raise ValueError(f"`{subject}` has no conditions (an empty condition matches anything)")
        conds.append((subject, tuple(preds)))
    if not conds:
        raise ValueError("a selection needs at least one subject (exec, file, net, ...)")
    # cheap, selective subjects first: an action or marker check fails fast
    order = {"action": 0, "marker": 1, "secret": 2, "env_set": 3, "env_read": 3, "net": 4}
    conds.sort(key=lambda c: order.get(c[0], 5))
    frozen = tuple(conds)
    return CompiledSelection(frozen, _gate(sel), _matcher(frozen))


#: Where each subject's items live, as an expression over ``facts`` and ``view``.
_ITEMS = {
    "exec": "facts.execs",
    "file": "facts.files",
    "net": "facts.net",
    "marker": "facts.markers",
    "env_set": "facts.env_set",
    "env_read": "[(n, '') for n in facts.env_read]",
    "secret": "facts.secrets",
    "action": "(view,)",
}


def _matcher(conds: tuple[tuple[str, tuple[Pred, ...]], ...]) -> Any:
    """Generate a matcher with the loops written out (no generators, no per-item dispatch).

    Only fixed text and generated names reach the source; the predicates themselves are passed
    in the namespace, so nothing from a rule file is ever compiled as code.
    """
    namespace: dict[str, Any] = {}
    lines = ["def match(facts, view):"]
    for i, (subject, preds) in enumerate(conds):
        calls = []
        for j, pred in enumerate(preds):
            name = f"p{i}_{j}"
            namespace[name] = pred
            calls.append(f"{name}(item)")
        lines += [
            f"    for item in {_ITEMS[subject]}:",
            f"        if {' and '.join(calls)}:",
            f"            h{i} = item",
            "            break",
            "    else:",
            "        return None",
        ]
    lines.append("    return (" + "".join(f"h{i}, " for i in range(len(conds))) + ")")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from fixed text only
    return namespace["match"]


def _exact(value: Any) -> frozenset[str] | None:
    names = _as_list(value)
    if not names or any(any(c in n for c in "*?[") for n in names):
        return None
    return frozenset(names)


def _gate(sel: Selection) -> Gate:
    subjects = frozenset(s for s in _SUBJECTS if getattr(sel, s) is not None) - {"action"}
    markers = _exact(sel.marker.name) if sel.marker is not None else None
    execs = _exact(sel.exec.name) if sel.exec is not None and sel.exec.name is not None else None
    ops = _exact(sel.file.op) if sel.file is not None and sel.file.op is not None else None
    dirs = (_exact(sel.net.direction) if sel.net is not None and sel.net.direction is not None
            else None)  # fmt: skip
    return Gate(subjects, markers, execs, ops, dirs)


def _requirement(text: str) -> Callable[[str, str], bool]:
    if text.startswith("category:"):
        cat = text.split(":", 1)[1]
        return lambda rule_id, category: category == cat
    pred = _name_set([text])
    return lambda rule_id, category: pred(rule_id)


def compile_rule(spec: RuleSpec, env: CompileEnv, *, source: str = "") -> CompiledRule:
    """Compile one validated spec; raises ValueError with a readable message."""
    selections = [spec.match] if isinstance(spec.match, Selection) else list(spec.match or [])
    unless = [spec.unless] if isinstance(spec.unless, Selection) else list(spec.unless or [])
    if not selections and not spec.requires:
        raise ValueError("a rule needs `match` or `requires`")
    if selections and spec.requires:
        raise ValueError("a rule has either `match` or `requires`, not both")
    return CompiledRule(
        id=spec.id,
        category=spec.category,
        severity=Severity.parse(spec.severity),
        verdict=Verdict.parse(spec.verdict),
        techniques=tuple(_as_list(spec.technique)),
        description=spec.description,
        reason=spec.reason,
        advice=spec.advice,
        selections=tuple(_compile_selection(s, env) for s in selections),
        unless=tuple(_compile_selection(s, env) for s in unless),
        requires=tuple(_requirement(r) for r in spec.requires),
        source=source,
        spec=spec,
    )
