"""Programs that write, move, delete or re-permission files, plus find.

cp/mv/install/ln/tee/touch/mkdir/truncate/dd, rm and its shredding cousins, chmod/chown/chattr,
find (``-delete``, ``-exec``), mkfifo and patch.
"""

from __future__ import annotations

import re

from warden.check.facts import FileOp
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, names, parse

__all__ = ["HANDLERS", "mode_markers"]

_RECURSIVE = ("-r", "-R", "--recursive", "-a", "--archive")

_CP = Grammar("-t -S --target-directory --suffix --sparse --no-preserve")


def _copy_like(args: Argv, grammar: Grammar, *, move: bool) -> tuple[Acc, list[str], str | None]:
    parsed = parse(args, grammar)
    acc = Acc()
    target = parsed.value("-t", "--target-directory")
    sources = parsed.operands
    if target is None and len(sources) >= 2:
        sources, target = sources[:-1], sources[-1]
    recursive = move or parsed.has(*_RECURSIVE)
    for raw in sources:
        acc.file(FileOp.READ, raw, recursive=recursive)
        if move:
            acc.file(FileOp.DELETE, raw, recursive=True)
    if recursive and sources and target:
        # `cp -r SRC DIR` writes DIR/SRC; `cp -r SRC/. DIR` anything in DIR (Acc.copy_into).
        # A trailing slash does not say that DIR exists: `cp -r SRC DIR/` makes DIR a copy of
        # SRC when it does not (GNU cp), so one source is looked up on disk as without it
        is_dir: bool | None = None
        if parsed.has("-T", "--no-target-directory"):
            is_dir = False
        elif parsed.value("-t", "--target-directory") or len(sources) > 1:
            is_dir = True
        acc.copy_into(target, sources, is_dir=is_dir)
    else:
        acc.file(FileOp.WRITE, target)
    return acc, sources, target


def _cp(name: str, args: Argv) -> Effects:
    return _copy_like(args, _CP, move=False)[0].build()


_MV = Grammar("-t -S --target-directory --suffix")


def _mv(name: str, args: Argv) -> Effects:
    return _copy_like(args, _MV, move=True)[0].build()


_INSTALL = Grammar(
    "-t -m -o -g -S --target-directory --mode --owner --group --suffix --strip-program"
)


def _install(name: str, args: Argv) -> Effects:
    parsed = parse(args, _INSTALL)
    if parsed.has("-d", "--directory"):
        acc = Acc()
        acc.files_of(FileOp.WRITE, parsed.operands)
        targets = parsed.operands
    else:
        acc, _, target = _copy_like(args, _INSTALL, move=False)
        targets = [target] if target else []
    mode = parsed.value("-m", "--mode")
    if mode is not None:
        for raw in targets:
            acc.markers.extend(mode_markers(mode, raw))
    return acc.build()


_LN = Grammar("-t -S --target-directory --suffix")


def _ln(name: str, args: Argv) -> Effects:
    parsed = parse(args, _LN)
    acc = Acc()
    directory = parsed.value("-t", "--target-directory")
    operands = parsed.operands
    if directory is not None:
        targets, links = operands, [directory]
    elif len(operands) == 1:
        targets, links = operands, [operands[0].rstrip("/").rpartition("/")[2] or operands[0]]
    else:
        targets, links = operands[:-1], operands[-1:]
    acc.files_of(FileOp.WRITE, links)
    for target in targets:
        acc.mark("fs.link", f"{target} -> {links[0]}" if links else target)
    return acc.build()


_TEE = Grammar()


def _tee(name: str, args: Argv) -> Effects:
    parsed = parse(args, _TEE)
    op = FileOp.APPEND if parsed.has("-a", "--append") else FileOp.WRITE
    acc = Acc()
    acc.files_of(op, parsed.operands)
    return acc.build()


_TOUCH = Grammar("-d -t -r --date --reference --time")


def _touch(name: str, args: Argv) -> Effects:
    parsed = parse(args, _TOUCH)
    acc = Acc()
    acc.files_of(FileOp.WRITE, parsed.operands)
    acc.read(parsed.value("-r", "--reference"))
    if parsed.has("-d", "-t", "-r", "--date", "--reference"):
        acc.mark("fs.timestomp", " ".join(parsed.operands))
    return acc.build()


_MODE = Grammar("-m --mode")


def _mkdir(name: str, args: Argv) -> Effects:
    parsed = parse(args, _MODE)
    acc = Acc()
    acc.files_of(FileOp.WRITE, parsed.operands)
    mode = parsed.value("-m", "--mode")
    if mode is not None:
        for raw in parsed.operands:
            acc.markers.extend(mode_markers(mode, raw))
    return acc.build()


_TRUNCATE = Grammar("-s -r --size --reference")


def _truncate(name: str, args: Argv) -> Effects:
    parsed = parse(args, _TRUNCATE)
    acc = Acc()
    acc.files_of(FileOp.WRITE, parsed.operands)
    acc.read(parsed.value("-r", "--reference"))
    return acc.build()


def _mkfifo(name: str, args: Argv) -> Effects:
    parsed = parse(args, _MODE)
    acc = Acc()
    acc.files_of(FileOp.WRITE, parsed.operands)
    for raw in parsed.operands:
        acc.mark("fs.fifo", raw)
    return acc.build()


#: Devices that never run dry: dd copying one fills whatever it writes to, unless bounded.
_ENDLESS_DEVICES = frozenset({"/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"})
#: dd's size suffixes (GNU coreutils), in bytes.
_DD_UNITS = {"": 1, "c": 1, "w": 2, "b": 512, "kB": 10**3, "K": 2**10, "k": 2**10,
             "MB": 10**6, "M": 2**20, "GB": 10**9, "G": 2**30, "TB": 10**12, "T": 2**40,
             "PB": 10**15, "P": 2**50, "EB": 10**18, "E": 2**60}  # fmt: skip
_DD_SIZE = re.compile(r"(\d+)([A-Za-z]*?)(?:iB)?")
#: A dd from an endless device writing this much or more fills a disk (``dos.disk-fill``).
DD_FILL_BYTES = 10 * 2**30


def _dd_bytes(value: str) -> int | None:
    """A dd size (``1M``, ``4KiB``, ``2x1G``), or None when it is not one."""
    total = 1
    for part in value.split("x"):
        m = _DD_SIZE.fullmatch(part)
        unit = _DD_UNITS.get(m.group(2)) if m is not None else None
        if m is None or unit is None:
            return None
        total *= int(m.group(1)) * unit
    return total


def _dd(name: str, args: Argv) -> Effects:
    """``dd if=F of=G``: reads F, writes G. Copying an endless device (``/dev/zero``,
    ``/dev/urandom``) without ``count=``, or ``bs`` x ``count`` of :data:`DD_FILL_BYTES` or
    more, anywhere but /dev/null, is ``resource.disk-fill``."""
    acc = Acc()
    settings: dict[str, str] = {}
    for word in args:
        key, eq, value = word.partition("=")
        if not eq:
            continue
        settings[key] = value
        if key == "if":
            acc.read(value)
        elif key == "of":
            acc.write(value)
    if settings.get("if") in _ENDLESS_DEVICES and settings.get("of") != "/dev/null":
        count = settings.get("count")
        if count is None:
            acc.mark("resource.disk-fill", "endless")
        else:
            block = _dd_bytes(settings.get("bs") or settings.get("obs") or "512")
            blocks = _dd_bytes(count)
            if block is not None and blocks is not None and block * blocks >= DD_FILL_BYTES:
                acc.mark("resource.disk-fill", f"{block * blocks} bytes")
    return acc.build()


_RM = Grammar()


def _rm(name: str, args: Argv) -> Effects:
    parsed = parse(args, _RM)
    acc = Acc()
    recursive = name != "rmdir" and parsed.has("-r", "-R", "--recursive")
    acc.files_of(FileOp.DELETE, parsed.operands, recursive=recursive)
    if parsed.has("--no-preserve-root"):
        acc.mark("fs.no-preserve-root")
    if name in ("shred", "wipe", "srm"):
        acc.mark("fs.shred")
    return acc.build()


_SHRED = Grammar("-n -s --iterations --size --random-source")


def _shred(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SHRED)
    acc = Acc()
    for raw in parsed.operands:
        acc.write(raw)
        acc.file(FileOp.DELETE, raw)
    acc.mark("fs.shred")
    return acc.build()


# --- permissions ----------------------------------------------------------------------------

_SYMBOLIC = re.compile(r"^[ugoa]*([-+=][rwxXstugo]*)+(,[ugoa]*([-+=][rwxXstugo]*)+)*$")
_OCTAL = re.compile(r"^[0-7]{1,6}$")


def mode_markers(mode: str, path: str) -> list[tuple[str, str]]:
    """Markers for a chmod-style ``mode`` applied to ``path``."""
    found: list[tuple[str, str]] = []
    if _OCTAL.match(mode):
        bits = int(mode, 8)
        if bits & 0o111:
            found.append(("chmod.executable", path))
        if bits & 0o6000:
            found.append(("privilege.setuid", path))
        if bits & 0o002:
            found.append(("chmod.world-writable", path))
        return found
    for clause in mode.split(","):
        who = clause[: len(clause) - len(clause.lstrip("ugoa"))]
        for grant in re.findall(r"[+=][rwxXstugo]*", clause):
            if "x" in grant or "X" in grant:
                found.append(("chmod.executable", path))
            if "s" in grant:
                found.append(("privilege.setuid", path))
            if "w" in grant and (who == "" or "o" in who or "a" in who):
                found.append(("chmod.world-writable", path))
    return list(dict.fromkeys(found))


_CHMOD_OPTS = frozenset("cfvR")


def _chmod(name: str, args: Argv) -> Effects:
    acc = Acc()
    recursive = False
    reference: str | None = None
    operands: list[str] = []
    ended = False
    for word in args:
        if ended or not word.startswith("-") or word == "-":
            operands.append(word)
        elif word == "--":
            ended = True
        elif word.startswith("--"):
            recursive = recursive or word == "--recursive"
            if word.startswith("--reference="):
                reference = word.partition("=")[2]
        elif set(word[1:]) <= _CHMOD_OPTS:
            recursive = recursive or "R" in word
        else:
            operands.append(word)  # a mode such as -x or -rwx
    if reference is None and operands:
        mode, paths = operands[0], operands[1:]
    else:
        mode, paths = "", operands
    acc.read(reference)
    acc.files_of(FileOp.CHMOD, paths, recursive=recursive)
    if mode:
        for raw in paths:
            acc.markers.extend(mode_markers(mode, raw))
    return acc.build()


_CHOWN_OPTS = Grammar("--from --reference")


def _chown(name: str, args: Argv) -> Effects:
    parsed = parse(args, _CHOWN_OPTS)
    acc = Acc()
    operands = parsed.operands
    if parsed.value("--reference") is None and operands:
        owner, operands = operands[0], operands[1:]
        if owner.partition(":")[0] in ("root", "0"):
            acc.mark("fs.chown-root", " ".join(operands))
    acc.read(parsed.value("--reference"))
    acc.files_of(FileOp.CHMOD, operands, recursive=parsed.has("-R", "--recursive"))
    return acc.build()


def _chattr(name: str, args: Argv) -> Effects:
    acc = Acc()
    recursive = False
    modes: list[str] = []
    paths: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word in ("-v", "-p"):
            skip = True
        elif word in ("-R", "-V", "-f"):
            recursive = recursive or word == "-R"
        elif word[:1] in "+-=" and len(word) > 1 and not paths:
            modes.append(word)
        else:
            paths.append(word)
    acc.files_of(FileOp.CHMOD, paths, recursive=recursive)
    for mode in modes:
        if "i" in mode or "a" in mode:
            acc.mark("fs.immutable", mode)
    return acc.build()


# --- find -------------------------------------------------------------------------------------

_FIND_VALUES = names(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -size -perm"
    " -user -group -uid -gid -mtime -atime -ctime -mmin -amin -cmin -newer -anewer -cnewer"
    " -maxdepth -mindepth -links -inum -samefile -used -printf -fstype -context -regextype"
    " -lname -ilname -files0-from"
)
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_WRITE = frozenset({"-fprint", "-fprint0", "-fls", "-fprintf"})


def _find(name: str, args: Argv) -> Effects:
    acc = Acc()
    i, n = 0, len(args)
    while i < n and args[i][:2] in ("-H", "-L", "-P", "-D", "-O"):
        i += 2 if args[i] in ("-D", "-O") else 1
    starts: list[str] = []
    while i < n and not args[i].startswith(("-", "(", "!", ")", ",")):
        starts.append(args[i])
        i += 1
    if not starts:
        starts = ["."]
    acc.files_of(FileOp.LIST, starts, recursive=True)
    while i < n:
        word = args[i]
        i += 1
        if word in _FIND_EXEC:
            command: list[str] = []
            while i < n and args[i] not in (";", "+"):
                command.append(args[i])
                i += 1
            i += 1
            acc.run(command)
        elif word in _FIND_WRITE:
            if i < n:
                acc.write(args[i])
            i += 2 if word == "-fprintf" else 1
        elif word == "-delete":
            acc.files_of(FileOp.DELETE, starts, recursive=True)
        elif word.startswith("-newer") or word in _FIND_VALUES:
            if word == "-files0-from" and i < n:
                acc.read(args[i])
            i += 1
    return acc.build()


_PATCH_OPTS = Grammar("-i -o -d -p -r -B -D -F -V -z --input --output --directory")


def _patch(name: str, args: Argv) -> Effects:
    parsed = parse(args, _PATCH_OPTS)
    acc = Acc()
    acc.read(*parsed.values("-i", "--input"))
    acc.write(*parsed.values("-o", "--output"))
    operands = parsed.operands
    if operands:
        acc.read(operands[0])
        acc.write(operands[0])
    if len(operands) > 1:
        acc.read(operands[1])
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "cp": _cp,
    "mv": _mv,
    "install": _install,
    "ln": _ln,
    "tee": _tee,
    "touch": _touch,
    "mkdir": _mkdir,
    "truncate": _truncate,
    "mkfifo": _mkfifo,
    "mknod": _mkfifo,
    "dd": _dd,
    "rm": _rm,
    "rmdir": _rm,
    "unlink": _rm,
    "wipe": _rm,
    "srm": _rm,
    "shred": _shred,
    "chmod": _chmod,
    "chown": _chown,
    "chgrp": _chown,
    "chattr": _chattr,
    "find": _find,
    "gfind": _find,
    "patch": _patch,
}
