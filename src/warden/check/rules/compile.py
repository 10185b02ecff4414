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
import threading
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from warden.action import Action
from warden.check.facts import Facts
from warden.check.paths import glob_regex, globs_intersect
from warden.check.rules.model import RuleSpec, Selection
from warden.decision import Severity, Verdict

__all__ = [
    "EXEC_FLAGS",
    "CompileEnv",
    "CompiledRule",
    "CompiledSelection",
    "PathNeed",
    "PathReach",
    "compile_regex",
    "compile_rule",
    "expand_path_pattern",
    "re2_searcher",
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
        return re2_searcher(rx)
    try:
        prx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
    return lambda s: prx.search(s) is not None


def re2_searcher(rx: Any) -> Callable[[str], bool]:
    """``lambda s: rx.search(s) is not None`` for a compiled RE2 pattern, without the wrapper's
    match object: the engine only needs yes or no, and the wrapper's generator, offset
    translation and match object cost more than the search itself. Same encoding (UTF-8,
    strict: a lone surrogate raises as it does in the wrapper), same unanchored search over the
    whole text. Falls back to the public API if the binding's internals are not there."""
    raw = getattr(rx, "_regexp", None)
    anchor = getattr(getattr(_re2, "_Anchor", None), "UNANCHORED", None)
    if raw is None or anchor is None or not hasattr(raw, "Match"):
        return lambda s: rx.search(s) is not None

    def search(s: str) -> bool:
        data = s.encode("utf-8")
        return bool(raw.Match(anchor, data, 0, len(data))[0][0] != -1)

    return search


class CompileEnv(msgspec.Struct, frozen=True):
    """What compiling needs to know about the machine and the policy."""

    home: str
    host_allowed: Callable[[str, int | None], bool]
    paths: PathIndex = msgspec.field(default_factory=lambda: PathIndex())


#: A pattern in the index's detour screens: (glob, id, has a wildcard, literal end), where the
#: literal end is the text after the last wildcard, or the whole glob when it has none.
_Entry = tuple[str, int, bool, str]


class PathIndex:
    """Every path pattern of every rule in one RE2 set, matched once per path.

    A path condition is then a set intersection instead of a regex run of its own. Results are
    remembered per path string (a pure function of it; bounded). If RE2 is unavailable,
    :attr:`ready` stays False and conditions use their own regexes.

    The set is built on first use, not in :meth:`compile`: a hook process judges one action and
    often matches no path at all, and building the set costs milliseconds. Should RE2 refuse the
    set then, :meth:`matches` computes the same ids with :mod:`re`, one pattern at a time.

    It also screens the two detours of a path condition for all patterns at once
    (:meth:`glob_screen`, :meth:`inside_screen`): supersets of the patterns a glob access or a
    directory taken whole can meet, from literal starts and ends only, so that
    :class:`PathReach` can skip file selections for such accesses too (fourth round; measured
    in docs/decisions.md). The exact comparison stays in the conditions.
    """

    #: Distinct paths remembered; the cache is dropped when full (paths repeat within sessions).
    CACHE = 8192
    #: Distinct glob accesses / whole directories whose screens are remembered (dropped when
    #: full). Smaller: a screen of a broad string (``/``, ``/*``) holds a few hundred ids, so
    #: the worst case stays at a few MB.
    SCREEN_CACHE = 1024

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._set: Any = None
        self._fallback: list[tuple[re.Pattern[str], int]] | None = None
        self._cache: dict[str, frozenset[int]] = {}
        self._lock = threading.Lock()
        self.ready = False
        # the detour screens (see glob_screen / inside_screen), built on the first detour
        self._by_start: dict[str, tuple[_Entry, ...]] | None = None
        self._starts: list[str] = []
        self._longest_start = 0
        self._glob_cache: dict[str, frozenset[int]] = {}
        self._inside_cache: dict[str, frozenset[int]] = {}
        self._named: list[tuple[tuple[tuple[str, ...], list[re.Pattern[str]]], int]] | None = None
        self._named_cache: dict[str, frozenset[int]] = {}

    def add(self, glob: str) -> int:
        """The id of an (expanded) path glob; before :meth:`compile` only."""
        if self.ready:
            raise RuntimeError("path index already compiled")
        return self._ids.setdefault(glob, len(self._ids))

    def compile(self) -> None:
        """Seal the index: conditions use it from now on (the set itself is built lazily)."""
        if _re2 is None or not self._ids:
            return
        self.ready = True

    def _build(self) -> None:
        with self._lock:
            if self._set is not None or self._fallback is not None:
                return
            ordered = sorted(self._ids.items(), key=lambda kv: kv[1])
            try:
                regex_set = _re2.Set.FullMatchSet()
                for glob, ident in ordered:
                    if regex_set.Add("(?s)" + glob_regex(glob).removesuffix(r"\Z")) != ident:
                        raise ValueError("RE2 set ids out of order")
                regex_set.Compile()
            except Exception:  # an RE2 refusal: the same ids, one stdlib regex per pattern
                self._fallback = [(re.compile(glob_regex(g), re.DOTALL), i) for g, i in ordered]
                return
            self._set = regex_set

    def matches(self, path: str) -> frozenset[int]:
        found = self._cache.get(path)
        if found is None:
            if self._set is None:
                if self._fallback is None:
                    self._build()
                if self._fallback is not None:
                    return frozenset(i for rx, i in self._fallback if rx.match(path))
            hits = self._set.Match(path)
            found = frozenset(hits) if hits else frozenset()
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[path] = found
        return found

    # --- the two detours of a path condition (see _path_pred), screened for every pattern at
    # once, so that PathReach can tell which selections a glob access or a directory taken
    # whole may meet. Both screens are pure functions of the string and the sealed pattern
    # table, so they are remembered per string (bounded: SCREEN_CACHE).

    def _tables(self) -> tuple[dict[str, tuple[_Entry, ...]], list[str]]:
        by_start = self._by_start
        if by_start is None:
            grouped: dict[str, list[_Entry]] = {}
            for glob, ident in sorted(self._ids.items(), key=lambda kv: kv[1]):
                tail = _literal_tail(glob)
                entry = (glob, ident, tail is not None, glob if tail is None else tail)
                grouped.setdefault(_literal_prefix(glob), []).append(entry)
            self._starts = sorted(grouped)
            self._longest_start = max(map(len, grouped), default=0)
            by_start = self._by_start = {k: tuple(v) for k, v in grouped.items()}  # last
        return by_start, self._starts

    def _compatible(self, lit: str) -> list[_Entry]:
        """The patterns whose literal start begins ``lit`` or begins with it (no path can match
        a pattern and a glob whose literal starts disagree)."""
        by_start, starts = self._tables()
        found: list[_Entry] = []
        # starts that are a prefix of lit (lit's own included): none is longer than the longest
        # start (a 200,000-character path would otherwise cost a quadratic slicing)
        for k in range(min(len(lit), self._longest_start) + 1):
            group = by_start.get(lit[:k])
            if group:
                found.extend(group)
        at = bisect.bisect_right(starts, lit)  # longer starts that begin with lit
        while at < len(starts) and starts[at].startswith(lit):
            found.extend(by_start[starts[at]])
            at += 1
        return found

    def named_screen(self, directory: str) -> frozenset[int]:
        """The ids of the ``**/A/B`` patterns that ``directory`` (no trailing ``/``), written
        whole, meets by its own name (:func:`_named_parents`). Remembered per string, bounded."""
        found = self._named_cache.get(directory)
        if found is None:
            table = self._named
            if table is None:
                table = self._named = [
                    (_named_parents([glob]), ident) for glob, ident in self._ids.items()
                ]
            found = frozenset(
                ident for (suffixes, globbed), ident in table
                if (suffixes and directory.endswith(suffixes))
                or any(rx.match(directory) for rx in globbed)
            )  # fmt: skip
            if len(self._named_cache) >= self.SCREEN_CACHE:
                self._named_cache.clear()
            self._named_cache[directory] = found
        return found

    def glob_screen(self, access: str) -> frozenset[int]:
        """The ids of the patterns that pass the two cheap, necessary tests of
        :func:`globs_intersect` against the glob ``access``: compatible literal starts, then
        compatible literal ends (``paths._ends_compatible``, with each
        pattern's end taken once). Every pattern some real path could match together with
        ``access`` is among them (a superset: the exact comparison is a dynamic program per
        pattern, which the condition itself runs, stopping at its first hit). Remembered per
        string, bounded."""
        found = self._glob_cache.get(access)
        if found is None:
            tail = _literal_tail(access)
            wild = tail is not None
            end = access if tail is None else tail
            hits: list[int] = []
            for glob, ident, glob_wild, glob_end in self._compatible(_literal_prefix(access)):
                if not wild and not glob_wild:
                    if glob != access:
                        continue
                elif "]" not in glob_end and "]" not in end:
                    n = min(len(glob_end), len(end))
                    if n and glob_end[-n:] != end[-n:]:
                        continue
                hits.append(ident)
            found = frozenset(hits)
            if len(self._glob_cache) >= self.SCREEN_CACHE:
                self._glob_cache.clear()
            self._glob_cache[access] = found
        return found

    def inside_screen(self, directory: str) -> frozenset[int]:
        """The ids of the anchored patterns (not ``**/...``) whose literal start begins
        ``directory`` (which ends with ``/``) or begins with it: every pattern that can name
        something inside it, and maybe more (a superset: deciding exactly would compare every
        pattern under a directory such as ``/`` or ``~``, hundreds of comparisons the first
        time; the condition itself then asks exactly, stopping at its first hit). Remembered per
        string, bounded."""
        found = self._inside_cache.get(directory)
        if found is None:
            found = frozenset(
                entry[1] for entry in self._compatible(directory) if not entry[0].startswith("**")
            )
            if len(self._inside_cache) >= self.SCREEN_CACHE:
                self._inside_cache.clear()
            self._inside_cache[directory] = found
        return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class _Lazy:
    """A regex compiled on first use: a one-shot process (a hook) compiles only the rules an
    action reaches. The source may itself be a function, so that building it (hundreds of glob
    translations) is also deferred. Compiling twice from two threads is harmless (the result
    is the same)."""

    __slots__ = ("_flags", "_rx", "_source")

    def __init__(self, source: str | Callable[[], str], flags: int = 0) -> None:
        self._source, self._flags = source, flags
        self._rx: re.Pattern[str] | None = None

    def get(self) -> re.Pattern[str]:
        rx = self._rx
        if rx is None:
            source = self._source if isinstance(self._source, str) else self._source()
            rx = self._rx = re.compile(source, self._flags)
        return rx


_GLOB_CHAR = re.compile(r"[*?\[]").search


def _name_set(values: Sequence[str]) -> Pred:
    """Exact names use a set; names with glob characters a regex (compiled on first use)."""
    exact = frozenset([v for v in values if not _GLOB_CHAR(v)])
    globs = [v for v in values if _GLOB_CHAR(v)]
    if not globs:
        return lambda s: s in exact
    lazy = _Lazy(lambda: "|".join(fnmatch.translate(g) for g in globs))
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
    pattern names something inside it. ``literal_globs`` (for ``not_path`` and
    ``path_as_written``) compares a glob access as written and never matches a directory by what
    it may contain: a wildcard cannot talk its way into an exclusion, and ``**/id_rsa`` cannot
    turn every ``grep -r`` into a key read.

    With a sealed index, a glob access is compared only with the patterns in the index's screen
    for it (:meth:`PathIndex.glob_screen`, a superset of those ``globs_intersect`` accepts),
    instead of a literal-start test per pattern (fifth round; docs/decisions.md)."""
    patterns = [expand_path_pattern(v, env.home) for v in values]
    # one regex for all patterns: a single match per path instead of one per pattern
    combined = _Lazy(lambda: "|".join(f"(?:{glob_regex(p)})" for p in patterns), re.DOTALL)
    index = env.paths
    ids = frozenset(index.add(p) for p in patterns)
    inside = _Inside(patterns)
    # the parents of the `**/A/B` patterns, for a directory written whole: literal ones as
    # suffixes (one C call), others as regexes; made on first use (a tuple: one assignment)
    named: tuple[tuple[str, ...], list[re.Pattern[str]]] | None = None
    whole_cache: dict[str, bool] = {}  # a pure function of the string: remembered, bounded

    def written_whole(directory: str) -> bool:
        """Whether a directory written whole (any name may land in it) holds an entry that a
        pattern names: an anchored pattern for an entry of it (through the index's screen, no
        regex per condition), or a ``**/A/B`` pattern when the directory is an ``A``."""
        nonlocal named
        known = whole_cache.get(directory)
        if known is not None:
            return known
        if named is None:
            named = _named_parents(patterns)
        suffixes, globbed = named
        known = directory.endswith(suffixes) or any(rx.match(directory) for rx in globbed)
        if not known and not index.ready:
            known = names_inside(directory + "/", True)
        elif not known:
            entry = directory + "/*"
            screen = ids.intersection(index.inside_screen(directory + "/"))
            known = any(globs_intersect(by_id[i], entry, shell=False) for i in screen)
        if len(whole_cache) < _INSIDE_CACHE:
            whole_cache[directory] = known
        return known
    # (literal prefix, pattern) pairs, made whole on the first glob access (then assigned in
    # one step, so another thread sees all of them or none)
    starts: tuple[tuple[str, str], ...] | None = None

    # each pattern by its index id (identical globs share one id, and one string)
    by_id = {index.add(p): p for p in patterns}

    def pred(item: Any) -> bool:
        nonlocal starts
        forms = item.forms()
        if item.glob and not literal_globs:
            # a directory the glob names, taken whole, also holds what is inside it (anchored
            # patterns only, as names_inside): globs_intersect(within=True)
            whole = _whole_dir(item)
            if index.ready:
                # only the patterns in the index's screen for this glob can meet it (a superset
                # of those globs_intersect accepts; remembered per string): a set
                # intersection instead of a literal-start test per pattern. The screen of
                # "glob/**" is the superset for the within test (the same first test, on the
                # same string globs_intersect then compares).
                for f in forms:
                    for i in ids.intersection(index.glob_screen(f)):
                        if globs_intersect(by_id[i], f):
                            return True
                    if whole:
                        for i in ids.intersection(index.glob_screen(f.rstrip("/") + "/**")):
                            p = by_id[i]
                            if not p.startswith("**") and globs_intersect(p, f, within=True):
                                return True
                return False
            pairs = starts
            if pairs is None:
                pairs = starts = tuple((_literal_prefix(p), p) for p in patterns)
            for f in forms:
                # globs_intersect's own first test, inlined: one literal start must begin the
                # other, or no path matches both (most patterns fail here, without a call)
                lit = _literal_prefix(f)
                for start, p in pairs:
                    if (start.startswith(lit) or lit.startswith(start)) and (
                        globs_intersect(p, f)  # a directory the glob names, taken whole, also
                        or (whole and not p.startswith("**")  # holds what is inside (as
                            and globs_intersect(p, f, within=True))  # names_inside does)
                    ):  # fmt: skip
                        return True
            return False
        if index.ready:
            for f in forms:  # plain loops: this runs for every file rule on every file access
                if not ids.isdisjoint(index.matches(f)):
                    return True
        else:
            rx = combined.get()
            for f in forms:
                if rx.match(f):
                    return True
        if literal_globs:
            return False
        if item.op == "write":
            if item.recursive:  # `pip install --target ~/.claude`: any name in .claude
                for f in forms:
                    if written_whole(f.rstrip("/")):
                        return True
        elif _whole_dir(item):
            for f in forms:
                if names_inside(f.rstrip("/") + "/"):
                    return True
        return False

    inside_cache: dict[str, bool] = {}

    def names_inside(directory: str, child: bool = False) -> bool:
        """Whether some pattern names something inside ``directory`` (``child``: an entry of
        it); a pure function of the string, so remembered; bounded."""
        key = directory + "*" if child else directory
        known = inside_cache.get(key)
        if known is None:
            known = inside.names(directory, child=child)
            if len(inside_cache) < _INSIDE_CACHE:
                inside_cache[key] = known
        return known

    return pred


class _Inside:
    """"Could one of these patterns name something inside directory D?", prepared on first use
    (only accesses that take a directory whole ask it)."""

    __slots__ = ("_anchored", "_patterns", "_prefix_of_dir", "_starts")

    def __init__(self, patterns: list[str]) -> None:
        self._patterns = patterns
        self._anchored: list[tuple[str, str]] | None = None
        self._starts: list[str] = []
        self._prefix_of_dir: re.Pattern[str] | None = None

    def _prepare(self) -> tuple[list[tuple[str, str]], list[str], re.Pattern[str]]:
        # "**/x" patterns can be inside any directory; only anchored ones are checked inside
        # one, and only those whose literal start is compatible with the directory
        anchored = [(_literal_prefix(p), p) for p in self._patterns if not p.startswith("**")]
        # quick screens: some literal prefix is a prefix of D/ (one regex match), or starts
        # with D/ (a bisection)
        starts = sorted(prefix for prefix, _ in anchored)
        rx = re.compile("|".join(re.escape(prefix) for prefix in starts) or "(?!)")
        self._starts, self._prefix_of_dir = starts, rx
        self._anchored = anchored  # last: a thread that sees it sees the rest
        return anchored, starts, rx

    def names(self, inside: str, *, child: bool = False) -> bool:
        anchored = self._anchored
        if anchored is None:
            anchored, starts, rx = self._prepare()
        else:
            starts, rx = self._starts, self._prefix_of_dir  # type: ignore[assignment]
        if not rx.match(inside):
            at = bisect.bisect_left(starts, inside)
            if not (at < len(starts) and starts[at].startswith(inside)):
                return False
        return any(
            (prefix.startswith(inside) or inside.startswith(prefix))
            and globs_intersect(p, inside + ("*" if child else "**"), shell=False)
            for prefix, p in anchored
        )


def _named_parents(patterns: Sequence[str]) -> tuple[tuple[str, ...], list[re.Pattern[str]]]:
    """The directories that hold what a ``**/A/B`` pattern names as an entry of their own:
    those named ``A`` (``**/A/B/**`` names ``**/A/B`` too), as ``/A`` suffixes when ``A`` is
    literal, else as regexes. A directory written whole (``cp -r x/. D``, ``tar x -C D``)
    meets the pattern when it is one of them (``**/.ssh/authorized_keys`` for
    ``/srv/u/.ssh``), not for what any directory could hold (``cp -r src/. build`` writes no
    ``.ssh/authorized_keys``)."""
    suffixes: list[str] = []
    globbed: list[re.Pattern[str]] = []
    for pattern in patterns:
        named = pattern.removesuffix("/**")
        if not named.startswith("**/") or "/" not in named[3:]:
            continue
        parent = named.rpartition("/")[0]
        if parent.endswith("**"):
            continue
        if _GLOB_CHAR(parent[3:]) is None:
            suffixes.append(parent[2:])  # "/A" or "/A/B"
        else:
            globbed.append(re.compile(glob_regex(parent), re.DOTALL))
    return tuple(suffixes), globbed


def _whole_dir(item: Any) -> bool:
    """Whether a file access takes a directory whole (recursive, or written with a trailing
    slash; the root only as ``//``, what :func:`~warden.check.shell.state.inside` makes of
    names found anywhere): then it also meets the patterns that name something inside it."""
    op = item.op
    if op in _WHOLE_DIR_OPS:
        return item.recursive or (
            item.raw.endswith("/") and (bool(item.raw.strip("/")) or item.raw == "//")
        )
    # a recursive write (an archive extracted, `pip install --target`, `cp -r SRC/. DIR`) may
    # put any name in the directory: it meets the rules for the files inside it too
    return op == "write" and bool(item.recursive)


def _literal_prefix(glob: str) -> str:
    """The text before the first wildcard character of ``glob`` (all of it when none)."""
    m = _GLOB_CHAR(glob)
    return glob if m is None else glob[: m.start()]


def _literal_tail(glob: str) -> str | None:
    """The text after the last wildcard character of ``glob``; None when it has none."""
    cut = max(glob.rfind("*"), glob.rfind("?"), glob.rfind("["))
    return None if cut < 0 else glob[cut + 1 :]


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
    if c.path_as_written is not None:
        preds.append(_path_pred(_as_list(c.path_as_written), env, literal_globs=True))
    if c.not_path is not None:
        excluded = _path_pred(_as_list(c.not_path), env, literal_globs=True)
        preds.append(lambda item: not excluded(item))
    for attr in ("in_workspace", "glob", "recursive"):
        if getattr(c, attr) is not None:
            preds.append(_bool(attr, getattr(c, attr)))
    if c.by is not None:
        preds.append(_field("by", _name_set(_as_list(c.by))))
    if c.not_by is not None:
        others = _name_set(_as_list(c.not_by))
        preds.append(lambda item: not others(item.by))
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


class ActionView(msgspec.Struct, frozen=True):
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


class Gate(msgspec.Struct, frozen=True):
    """What an action must have before a selection is worth evaluating (cheap set checks)."""

    subjects: frozenset[str]
    marker_names: frozenset[str] | None = None  # exact marker names, one of which must occur
    exec_names: frozenset[str] | None = None  # exact program names, one of which must run
    file_ops: frozenset[str] | None = None  # file operations, one of which must occur
    net_dirs: frozenset[str] | None = None  # network directions, one of which must occur
    #: exec flags (``privileged``, ``background``, ``dynamic``) the condition requires true:
    #: some program of the action must carry every one of them
    exec_flags: frozenset[str] = frozenset()
    #: action kinds (``shell``, ``mcp``...), one of which the action must be
    action_kinds: frozenset[str] | None = None


#: The boolean exec fields a gate may require (:attr:`Gate.exec_flags`).
EXEC_FLAGS = ("privileged", "background", "dynamic")

#: A file condition's positive path requirement: the path-index ids of its patterns, and
#: whether the patterns compare glob accesses as written (``path_as_written``).
PathNeed = tuple[frozenset[int], bool]


class CompiledSelection:
    """Subject conditions; each must be met by some item (all predicates on the same item).

    Immutable apart from one memo: the generated matcher behind :meth:`match` is built on first
    use (a hook process reaches a handful of the engine's selections; generating all of them
    would cost more than judging the action).
    """

    __slots__ = ("_fn", "conds", "gate", "path_needs")

    def __init__(
        self, conds: tuple[tuple[str, tuple[Pred, ...]], ...], gate: Gate,
        path_needs: tuple[PathNeed, ...] = (),
    ) -> None:  # fmt: skip
        self.conds = conds
        self.gate = gate
        #: the file condition's ``path`` / ``path_as_written`` requirements (see
        #: :func:`may_reach`); empty when it has none
        self.path_needs = path_needs
        self._fn: Callable[[Facts, ActionView], tuple[Any, ...] | None] | None = None

    def match(self, facts: Facts, view: ActionView) -> tuple[Any, ...] | None:
        """The items that satisfied each subject, or None (generated code; see
        :meth:`match_slow` for the reference semantics)."""
        fn = self._fn
        if fn is None:  # two threads may both generate it: the results are equivalent
            fn = self._fn = _matcher(self.conds)
        return fn(facts, view)

    def match_slow(self, facts: Facts, view: ActionView) -> tuple[Any, ...] | None:
        """The reference semantics of :meth:`match`: the items that satisfied each subject,
        or None."""
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


class CompiledRule(msgspec.Struct, frozen=True):
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
    return CompiledSelection(frozen, _gate(sel), _path_needs(sel, env))


def _path_needs(sel: Selection, env: CompileEnv) -> tuple[PathNeed, ...]:
    """The path-index ids each positive path condition of ``sel`` needs (the same ids
    :func:`_path_pred` registers: :meth:`PathIndex.add` returns a glob's existing id)."""
    c = sel.file
    if c is None:
        return ()
    needs: list[PathNeed] = []
    for values, literal in ((c.path, False), (c.path_as_written, True)):
        if values is not None:
            patterns = [expand_path_pattern(v, env.home) for v in _as_list(values)]
            needs.append((frozenset(env.paths.add(p) for p in patterns), literal))
    return tuple(needs)


class PathReach:
    """Which path-index ids the file accesses of one action can reach, for skipping file
    selections whose path condition no access can meet (computed once per decision).

    A path condition (:func:`_path_pred`) meets an access through the index ids of the
    access's forms, except in two cases, which the index screens per string: a glob access
    (``item.glob``) meets only patterns some real path could match together with it, all
    among :meth:`PathIndex.glob_screen`, and a directory taken whole (:func:`_whole_dir`: read
    or deleted recursively or with a trailing slash, or written recursively) may also meet the
    patterns that name something inside it, all among :meth:`PathIndex.inside_screen` (and,
    for a write, :meth:`PathIndex.named_screen`). ``path_as_written`` conditions take
    neither detour. So: ``literal`` holds the ids of every access's forms (what
    ``path_as_written`` can meet), ``plain`` every id a ``path`` condition may meet. A
    selection is skipped only when one of its requirements is disjoint from these sets, which
    no access can then meet; when both are empty the index's path-free lists are used. (Until
    the fourth round a detour made ``plain`` unknown and every ``path`` condition was tried.)
    """

    __slots__ = ("literal", "plain")

    def __init__(self, files: Sequence[Any], index: PathIndex) -> None:
        ids: set[int] = set()
        extra: set[int] = set()  # what the detours may add (a glob's own ids stay: harmless)
        for item in files:
            forms = item.forms()
            for f in forms:
                ids.update(index.matches(f))
            if item.glob:
                whole = _whole_dir(item)
                for f in forms:
                    extra.update(index.glob_screen(f))
                    if whole:  # what the directories it names hold (see _path_pred)
                        extra.update(index.glob_screen(f.rstrip("/") + "/**"))
            elif _whole_dir(item):
                for f in forms:
                    extra.update(index.inside_screen(f.rstrip("/") + "/"))
                if item.op == "write":  # a `**/.ssh/...` pattern by the directory's own name
                    for f in forms:
                        extra.update(index.named_screen(f.rstrip("/")))
        self.literal: frozenset[int] = frozenset(ids)
        self.plain: frozenset[int] = self.literal.union(extra) if extra else self.literal

    def may_meet(self, needs: tuple[PathNeed, ...]) -> bool:
        """False when some path requirement can be met by no access (the selection cannot
        match); True when every one may be."""
        for ids, literal in needs:
            if ids.isdisjoint(self.literal if literal else self.plain):
                return False
        return True


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


#: An ``argv`` regex that is a list of whole command lines: ``^(env|printenv|export -p)$``
#: (words of plain characters, one space between them).
_ARGV_LINES = re.compile(
    r"\^\(([A-Za-z0-9_-]+(?: [A-Za-z0-9_-]+)*(?:\|[A-Za-z0-9_-]+(?: [A-Za-z0-9_-]+)*)*)\)\$"
)


def _argv_programs(pattern: str) -> frozenset[str] | None:
    """The program names an exec must have for the ``argv`` regex ``pattern`` to match, when
    the pattern only matches whole command lines of plain words (see :data:`_ARGV_LINES`).

    ``argv`` joined by spaces equals one of the lines, so ``argv[0]`` is that line up to one
    of its spaces or all of it (a word may itself hold spaces: ``"export -p"`` quoted); such
    an ``argv[0]`` (ASCII, no ``/``) is its own basename, which is the exec's name
    (:class:`~warden.check.facts.Exec`). So ``cred.env-dump`` is tried on ``env`` and
    ``printenv`` instead of on every program. None for any other pattern, and without RE2
    (whose ``$`` is the end of the text; the stdlib's also matches before a final newline)."""
    m = _ARGV_LINES.fullmatch(pattern)
    if m is None or _re2 is None:
        return None
    names: set[str] = set()
    for line in m.group(1).split("|"):
        words = line.split(" ")
        names.update(" ".join(words[:k]) for k in range(1, len(words) + 1))
    return frozenset(names)


def _gate(sel: Selection) -> Gate:
    subjects = frozenset(s for s in _SUBJECTS if getattr(sel, s) is not None) - {"action"}
    markers = _exact(sel.marker.name) if sel.marker is not None else None
    execs = _exact(sel.exec.name) if sel.exec is not None and sel.exec.name is not None else None
    if execs is None and sel.exec is not None and sel.exec.argv is not None:
        execs = _argv_programs(sel.exec.argv)
    kinds = (_exact(sel.action.kind) if sel.action is not None and sel.action.kind is not None
             else None)  # fmt: skip
    ops = _exact(sel.file.op) if sel.file is not None and sel.file.op is not None else None
    dirs = (_exact(sel.net.direction) if sel.net is not None and sel.net.direction is not None
            else None)  # fmt: skip
    flags = frozenset(f for f in EXEC_FLAGS if sel.exec is not None
                      and getattr(sel.exec, f) is True)  # fmt: skip
    return Gate(subjects, markers, execs, ops, dirs, flags, kinds)


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
