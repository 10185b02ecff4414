"""Path normalisation and glob matching for facts and rules.

A path in an action is what the agent wrote: ``~/.ssh/id_rsa``, ``$HOME/.aws/credentials``,
``../../etc/shadow``, ``./key`` (a symlink to a private key). Rules must see the file the kernel
would open, so every path is made absolute against the action's cwd, ``~`` and ``$HOME`` are
expanded, ``.``/``..`` are removed lexically, and symlinks that exist on disk are resolved
(:func:`resolve`). Both the lexical form and the resolved form are matched by rules.

Rule patterns are globs (``*`` within a path segment, ``**`` across segments, ``?``, ``[...]``),
anchored at both ends, and may start with ``~/`` or ``$WORKSPACE/``. When the action's path is
itself a glob (``cat ~/.ss?/id_*``), :func:`globs_intersect` asks whether some real path could
match both, so wildcards do not hide a sensitive file.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import stat
from collections.abc import Callable

import msgspec

__all__ = [
    "PathContext",
    "compile_glob",
    "glob_regex",
    "globs_intersect",
    "is_within",
    "normalize",
    "resolve",
]


class PathContext(msgspec.Struct, frozen=True):
    """Where relative paths start and what ``~`` means for one action."""

    cwd: str
    home: str
    workspace: str

    @classmethod
    def current(cls, *, cwd: str | None = None, workspace: str | None = None) -> PathContext:
        home = os.path.expanduser("~")
        here = os.path.abspath(cwd) if cwd else os.getcwd()
        return cls(cwd=here, home=home, workspace=os.path.abspath(workspace) if workspace else here)


_HOME_VARS = ("$HOME", "${HOME}")


def normalize(raw: str, ctx: PathContext) -> str:
    """The absolute, lexically normalised form of ``raw`` (no file system access). A path that
    is already normal after joining (:func:`_is_normal`) is returned as joined: the same string
    :func:`posixpath.normpath` would give, without its split and join. A process's root seen
    through ``/proc`` is the root (:func:`_proc_root`)."""
    p = _normalize(raw, ctx)
    if p.startswith("/proc/") and "/root" in p:
        return _proc_root(p)
    return p


#: ``/proc/PID/root`` (``self``, ``thread-self``, ``PID/task/TID``) is that process's root
#: directory (proc(5)): ``/proc/1/root/etc/shadow`` is ``/etc/shadow`` on a machine without
#: chroots. The kernel resolves it only for processes one may trace, so :func:`resolve` often
#: cannot; this is the lexical rule.
_PROC_ROOT = re.compile(r"/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/root(?=/|$)")


def _proc_root(path: str) -> str:
    m = _PROC_ROOT.match(path)
    return path if m is None else path[m.end() :] or "/"


def _normalize(raw: str, ctx: PathContext) -> str:
    p = raw
    if p.startswith("~"):
        slash = p.find("/")
        user = p[1:] if slash < 0 else p[1:slash]
        rest = "" if slash < 0 else p[slash:]
        if not user:
            p = ctx.home + rest
        elif user == "root":
            p = "/root" + rest
        elif user.isidentifier() or user.replace("-", "").replace(".", "").isalnum():
            p = posixpath.join(posixpath.dirname(ctx.home.rstrip("/")) or "/", user) + rest
    else:
        for var in _HOME_VARS:
            if p.startswith(var):
                p = ctx.home + p[len(var) :]
                break
        else:
            for var in ("$PWD", "${PWD}"):
                if p.startswith(var):
                    p = ctx.cwd + p[len(var) :]
                    break
    if not p.startswith("/"):
        cwd = ctx.cwd
        if cwd.startswith("/"):  # not empty: then join is the concatenation, or has a "//"
            # a "." component changes nothing normpath returns: `.` is the cwd, `./x` is x
            joined = cwd if p == "." else cwd + "/" + (p[2:] if p.startswith("./") else p)
            if _is_normal(joined):
                return joined
        p = posixpath.join(cwd, p)
    elif _is_normal(p):
        return p
    p = posixpath.normpath(p)
    if p.startswith("//"):
        p = "/" + p.lstrip("/")
    return p


def _is_normal(path: str) -> bool:
    """Whether ``path``, which starts with ``/``, is its own :func:`posixpath.normpath` (and
    does not start with ``//``): no empty, ``.`` or ``..`` component and no trailing slash
    (``/`` itself excepted). Three substring scans instead of a split, filter and join (most
    paths in actions are already normal)."""
    if path == "/":
        return True
    tail = path + "/"
    return "//" not in tail and "/./" not in tail and "/../" not in tail


_FAST_RESOLVE = hasattr(os, "O_PATH") and os.path.isdir("/proc/self/fd")  # noqa: PTH112


def resolve(path: str) -> str:
    """``path`` with symlinks that exist on disk resolved (a missing tail is kept as written).

    Never cached: an agent can re-point a symlink between two actions (``ln -sf ~/.ssh/id_rsa
    notes.txt`` after an innocent ``cat notes.txt``), so every check looks at the disk afresh.
    A link swapped between the check and the read itself is the containment layer's to stop.

    On Linux the kernel resolves the path (``open(O_PATH)``, then ``/proc/self/fd``): three
    system calls instead of one ``lstat`` per component; and first, in a process that lives
    on, one ``openat2`` call that refuses symlinks tells whether there is anything to resolve
    at all (:func:`_make_link_free`; most paths hold no link). A dangling symlink is followed
    to the path it names, because writing through it creates that file.
    """
    if "\0" in path:
        return path
    if not _FAST_RESOLVE:
        try:
            return os.path.realpath(path)
        except (OSError, ValueError):
            return path
    return _resolve(path)


def _resolve(path: str) -> str:
    """:func:`_resolve_by_fd`, answered by one system call when the kernel finds no symlink on
    the way (:func:`_link_free`): then the answer is ``path`` itself."""
    link_free = _link_free
    if link_free is not None:
        if path.startswith("/") and _is_normal(path) and link_free(path):
            return path
    elif _setup_countdown:
        _count_towards_setup()
    return _resolve_by_fd(path)


def _resolve_by_fd(path: str) -> str:
    """The kernel's answer through a descriptor: open ``path`` (``O_PATH``, following links)
    and read back the name of what was opened; a path that cannot be opened is walked by
    :func:`_resolve_missing`."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        # missing (or a dangling link): resolve what exists, follow dangling links to the file
        # a write would create
        return _resolve_missing(path)
    except (OSError, ValueError):
        return path  # unreadable on the way (EACCES, ELOOP): judge the lexical form
    try:
        resolved = os.readlink(f"/proc/self/fd/{fd}")  # noqa: PTH115 - a str, not a Path
    except OSError:
        return path
    finally:
        os.close(fd)
    return resolved if resolved.startswith("/") else path


#: ``openat2(2)`` (Linux 5.6) and its ``RESOLVE_NO_SYMLINKS`` flag, the same numbers on every
#: architecture since the syscall tables were unified.
_SYS_OPENAT2 = 437
_RESOLVE_NO_SYMLINKS = 0x04
_AT_FDCWD = -100

#: ``path -> bool``: whether the kernel walked ``path`` without meeting a symlink (see
#: :func:`_make_link_free`); None until set up, or where ``openat2`` is not available.
_link_free: Callable[[str], bool] | None = None

#: Resolutions before :func:`_link_free` is set up. The set-up imports :mod:`ctypes` (~10 ms,
#: more than a one-shot ``warden check`` resolves in all): a process judging one action keeps
#: the descriptor route; an engine that lives on switches after a few actions. 0: done.
_setup_countdown = 64


def _count_towards_setup() -> None:
    global _setup_countdown, _link_free
    _setup_countdown = max(0, _setup_countdown - 1)
    if _setup_countdown == 0:
        _link_free = _make_link_free()


def _make_link_free() -> Callable[[str], bool] | None:
    """A check of ``path`` in one system call, with the same answer as :func:`_resolve_by_fd`
    when it says True.

    ``openat2(path, O_PATH, RESOLVE_NO_SYMLINKS)`` walks the path like ``open`` does but fails
    with ``ELOOP`` at the first symlink (magic links under ``/proc`` included). For an absolute
    path without empty, ``.`` or ``..`` components (:func:`_is_normal`):

    - it opens: no component is a link, so what ``/proc/self/fd`` would name is ``path``;
    - it fails with ``ENOENT`` or ``ENOTDIR``: the walk met a missing component (or a file
      used as a directory) before any link. ``open`` following links stops at the same
      component, and :func:`_resolve_missing` walks the same components, finds no link
      before the one that fails, and answers ``path``. The call also asks for a directory
      (``O_DIRECTORY``): an existing file that is not one, the last component reached
      without a link (a link there fails with ``ELOOP`` first: the kernel follows or refuses
      a link before it checks the type), fails with ``ENOTDIR``, the same answer without a
      descriptor to close (one system call instead of two; only directories still open).

    Anything else (``ELOOP``: a link on the way; ``EACCES``, ``ENAMETOOLONG``, a name the
    file system encoding cannot hold) says False and the descriptor route answers. Three
    system calls become one for an existing file, and a failed ``open`` plus an ``lstat`` per
    component one for a missing file (on this project's Firecracker VM each path lookup costs
    3-6 us). Set up only when the kernel honours the flag (``/`` opens, ``/proc/self``, a
    symlink, is refused); None otherwise (the descriptor route everywhere; valgrind 3.19, for
    one, answers ``ENOSYS``).

    One difference, on case-insensitive directories only (ext4 ``casefold``, vfat): there the
    descriptor route named an existing entry as the kernel's dentry cache spells it (the
    spelling of whichever lookup came first, not necessarily the one on disk), this check keeps
    the action's spelling. Neither is a canonical name; on case-sensitive file systems the two
    answers are the same string."""
    import sys

    if (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()) != ("utf-8",
                                                                        "surrogateescape"):
        return None  # fmt: skip
    try:
        import ctypes
        import errno

        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        syscall.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                            ctypes.c_size_t)  # fmt: skip
    except (ImportError, OSError, AttributeError):
        return None
    how = (ctypes.c_uint64 * 3)(os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY, 0,
                                _RESOLVE_NO_SYMLINKS)  # fmt: skip
    where, size = ctypes.addressof(how), ctypes.sizeof(how)
    get_errno, close = ctypes.get_errno, os.close
    missing = (errno.ENOENT, errno.ENOTDIR)

    def link_free(path: str, _keep: object = how) -> bool:
        # ``_keep``: the struct passed by address (``where``) lives as long as this function,
        # whichever thread set the check up (a module global could be replaced by a second
        # set-up racing this one, freeing the first struct under its closure)
        try:
            raw = path.encode("utf-8", "surrogateescape")  # os.fsencode, without the call
        except UnicodeEncodeError:
            return False
        fd = syscall(_SYS_OPENAT2, _AT_FDCWD, raw, where, size)
        if fd >= 0:
            close(fd)
            return True
        return get_errno() in missing

    try:
        fd = syscall(_SYS_OPENAT2, _AT_FDCWD, b"/", where, size)
        if fd < 0:
            return None  # ENOSYS (before 5.6), or refused by a seccomp filter
        close(fd)
        fd = syscall(_SYS_OPENAT2, _AT_FDCWD, b"/proc/self", where, size)
        if fd >= 0:
            close(fd)
            return None  # the flag was not honoured: never trust this check
        if get_errno() != errno.ELOOP:
            return None
    except OSError:
        return None
    return link_free


def _resolve_missing(path: str) -> str:
    """:func:`os.path.realpath` of a path the kernel could not look up, in fewer steps.

    The library walk calls ``lstat`` on every component, and keeps going after the first one that
    is missing although every deeper one must then fail too (a lookup below a missing,
    unsearchable or non-directory component fails the same way), and then returns the lexical
    path. This walk stops at that first failure with the same answer. Any symlink on the way
    (a dangling one included) is left to the library walk, whose answer it is. Only for
    absolute, normalised paths (all :func:`normalize` produces); others take the library walk.
    """
    if not path.startswith("/") or not _is_normal(path):  # normpath(path) == path, no "//"...
        return os.path.realpath(path)
    prefix = ""
    for name in path[1:].split("/"):
        prefix += "/" + name
        try:
            st = os.lstat(prefix)
        except OSError:
            return path  # nothing below exists: no link left to resolve
        if stat.S_ISLNK(st.st_mode):
            return os.path.realpath(path)
    return path  # it appeared meanwhile, with no link on the way


def is_within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or below it (both absolute and normalised)."""
    if root == "/":
        return True
    return path == root or path.startswith(root.rstrip("/") + "/")


# --- globs -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"\*\*/?|\*|\?|\[!?\]?[^\]]*\]|[^*?\[]+|\[")


def _tokens(glob: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(glob))


def compile_glob(glob: str) -> re.Pattern[str]:
    """A regex for a path glob: ``*`` and ``?`` stay within a segment, ``**`` crosses them."""
    return re.compile(glob_regex(glob), re.DOTALL)


def glob_regex(glob: str) -> str:
    """The regular expression source of :func:`compile_glob` (to combine several globs)."""
    out = []
    tail = ""
    if glob.endswith("/**"):  # "dir/**" names the directory and everything in it
        glob, tail = glob[:-3], "(?:/.*)?"
    for tok in _tokens(glob):
        if tok.startswith("**"):
            out.append("(?:.*/)?" if tok.endswith("/") else ".*")
        elif tok == "*":
            out.append("[^/]*")
        elif tok == "?":
            out.append("[^/]")
        elif tok.startswith("[") and len(tok) > 1:
            body = tok[1:-1]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\") + "]")
        else:
            out.append(re.escape(tok))
    return "".join(out) + tail + r"\Z"


def _char_set(tok: str) -> tuple[bool, str] | None:
    """(negated, members) for a single-character token, None for stars."""
    if tok.startswith("*"):
        return None
    if tok == "?":
        return True, "/"
    if tok.startswith("[") and len(tok) > 1:
        body = tok[1:-1]
        neg = body.startswith("!")
        body = body[1:] if neg else body
        members: list[str] = []
        i = 0
        while i < len(body):
            if i + 2 < len(body) and body[i + 1] == "-":
                members.extend(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
                i += 3
            else:
                members.append(body[i])
                i += 1
        return neg, "".join(members) + ("/" if neg else "")
    return False, tok


def _single_chars(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Split literal runs into one token per character so both sides advance in step."""
    out: list[str] = []
    for tok in tokens:
        if tok == "**/":
            out.extend(("**", "/"))
        elif tok.startswith(("*", "?", "[")) and tok != "[":
            out.append(tok)
        else:
            out.extend(tok)
    return tuple(out)


def _sets_meet(a: tuple[bool, str], b: tuple[bool, str]) -> bool:
    neg_a, sa = a
    neg_b, sb = b
    if not neg_a and not neg_b:
        return bool(set(sa) & set(sb))
    if neg_a and neg_b:
        return True
    pos, neg = (sa, sb) if not neg_a else (sb, sa)
    return any(c not in neg for c in pos)


#: Globs longer than this (in tokens) are not compared exactly; they are assumed to overlap,
#: which fails closed (a rule may match) rather than open. The comparison recurses once per
#: token, so the bound also keeps it far below Python's recursion limit; real paths are far
#: shorter.
MAX_GLOB_TOKENS = 320


_WILD = re.compile(r"[*?\[]")


def listed_dir(glob: str) -> str:
    """The directory a glob's wildcards start in (``/home/dev/*`` -> ``/home/dev``,
    ``/home/dev/.ss?/id_*`` -> ``/home/dev``): what a listing of the glob shows the names of."""
    m = _WILD.search(glob)
    head = glob if m is None else glob[: m.start()]
    cut = head.rfind("/")
    return (head[:cut] or "/") if cut >= 0 else head


def _ends_compatible(a: str, b: str) -> bool:
    """Cheap necessary condition: the literal text before the first wildcard of each glob (and
    after the last) must agree, or no path can match both (the first test of
    :func:`globs_intersect`; ``rules.compile.PathIndex.glob_screen`` applies the same test with
    each pattern's ends taken once)."""
    ma, mb = _WILD.search(a), _WILD.search(b)
    pa = a if ma is None else a[: ma.start()]
    pb = b if mb is None else b[: mb.start()]
    n = min(len(pa), len(pb))
    if pa[:n] != pb[:n]:
        return False
    if ma is None and mb is None:
        return a == b
    sa = a if ma is None else a[max(m.end() for m in _WILD.finditer(a)) :]
    sb = b if mb is None else b[max(m.end() for m in _WILD.finditer(b)) :]
    if "]" in sa or "]" in sb:  # a bracket expression's tail: skip the suffix test
        return True
    n = min(len(sa), len(sb))
    return n == 0 or sa[-n:] == sb[-n:]


def _without_dot(cs: tuple[bool, str]) -> tuple[bool, str]:
    neg, members = cs
    return (True, members + ".") if neg else (False, members.replace(".", ""))


@functools.lru_cache(maxsize=4096)
def globs_intersect(pattern: str, access: str, *, shell: bool = True, within: bool = False) -> bool:
    """Whether some path matches both the rule ``pattern`` and the glob ``access``.

    Dynamic programming over token positions. With ``shell`` the access side follows bash's
    pathname expansion: a wildcard at the start of a name never matches a leading ``.``
    (bash(1), Pathname Expansion), so ``src/*.py`` cannot reach ``src/.env.py``. Without it
    (a directory read recursively) hidden files count. ``within``: the access is a directory
    taken whole (``tar cf - ~/.ss?/``); whether some path matching ``pattern`` lies inside a
    directory the glob names (bash's rule applies to the glob as written, not to what the
    directory holds: hidden files inside it count).
    """
    boundary = None
    if within:
        written = access.rstrip("/") or "/"
        boundary = len(_single_chars(_tokens(written)))
        access = written.rstrip("/") + "/**"
    if not _ends_compatible(pattern, access):
        return False
    last_p, last_a = pattern.rpartition("/")[2], access.rpartition("/")[2]
    # both final components must match the same file name: a short check first
    if (
        (last_p != pattern or last_a != access)
        and "**" not in last_p
        and "**" not in last_a
        and not globs_intersect(last_p, last_a, shell=shell)
    ):
        return False
    ta, tb = _single_chars(_tokens(pattern)), _single_chars(_tokens(access))
    if len(ta) + len(tb) > MAX_GLOB_TOKENS:
        return True  # too long to decide cheaply: assume the worst

    def shell_at(j: int) -> bool:
        return shell and (boundary is None or j < boundary)

    def seg_start(j: int) -> bool:
        return shell_at(j) and (j == 0 or tb[j - 1] == "/")

    @functools.cache
    def meet(i: int, j: int, nodot: bool) -> bool:
        """nodot: the next character taken from the access side may not be '.'."""
        if i == len(ta) and j == len(tb):
            return True
        if i < len(ta) and ta[i].startswith("*"):
            if meet(i + 1, j, nodot):
                return True
            if j < len(tb):
                if tb[j].startswith("*"):
                    return meet(i, j + 1, nodot)
                cs = _char_set(tb[j])
                if cs is None or not (ta[i].startswith("**") or _sets_meet(cs, (True, "/"))):
                    return False
                if nodot and not _sets_meet(cs, (True, "./")):
                    return False
                return meet(i, j + 1, False)
            return False
        if j < len(tb) and tb[j].startswith("*"):
            first = nodot or seg_start(j)
            if meet(i, j + 1, first):
                return True
            if i < len(ta):
                cs = _char_set(ta[i])
                if cs is None or not (tb[j].startswith("**") or _sets_meet(cs, (True, "/"))):
                    return False
                if first and not _sets_meet(cs, (True, "./")):
                    return False
                return meet(i + 1, j, shell_at(j) and ta[i] == "/")
            return False
        if i < len(ta) and j < len(tb):
            ca, cb = _char_set(ta[i]), _char_set(tb[j])
            if ca is None or cb is None or not _sets_meet(ca, cb):
                return False
            wild = tb[j] == "?" or (tb[j].startswith("[") and len(tb[j]) > 1)
            if (nodot or (wild and seg_start(j))) and not _sets_meet(ca, _without_dot(cb)):
                return False
            return meet(i + 1, j + 1, False)
        return False

    return meet(0, 0, False)
