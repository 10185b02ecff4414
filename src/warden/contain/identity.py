"""Who the contained program is on the host: a uid of its own when warden runs as root.

Without this, the program is uid 0 of a user namespace mapped onto the caller's uid: with
every capability dropped, but when the caller is root (CI, agents in containers) host root's
files are still its own under DAC, so anything that slipped past Landlock and the mounts could
write them. When warden runs as root, the program's user namespace maps its uid/gid 0 onto
a dedicated, unprivileged host uid/gid instead (:func:`own_ids`), and the paths it must use
keep working through *idmapped mounts* (mount_setattr(2) ``MOUNT_ATTR_IDMAP``), which show
their owner's files as the program's own and write its new files back as that owner:

- each writable root (the workspace, ``[contain] write``) gets an idmapped, recursive clone
  mapping its owner's uid/gid onto the program's: the agent creates, edits and deletes files
  there, and on the host they belong to the directory's owner, as before;
- each directory above a granted path that the program could not search (``/root`` is 0700,
  pytest's ``/tmp/pytest-of-root`` too) gets a read-only idmapped clone, so the path can be
  reached; the mount is read-only, so nothing in it can be written (its readable files are
  left to Landlock, as today, when the program was root);
- each readable root (``[contain] read``) that the program could not read with the "other"
  permission bits (a 0700 toolchain directory, a 0600 ``~/.gitconfig``) gets a read-only
  idmapped clone too (what lies deeper inside a readable root is seen as it is);
- everything else, system directories included, is seen as it is: owned by ids the program's
  namespace does not map (shown as 65534), so only the "other" permission bits apply, and a
  root-owned 0644 file is read-only to it even without Landlock.

The kernel requires CAP_SYS_ADMIN in the user namespace that owns the file system's superblock
to make an idmapped mount (the initial one for a disk), so the supervisor, as host root, makes
each one on a detached clone (open_tree(2) ``OPEN_TREE_CLONE``) and hands the descriptors to
init over the set-up channel (``SCM_RIGHTS``); init attaches them in its own mount namespace
with move_mount(2), before its other mounts. Measured on 6.18: a detached tree made in the
initial namespaces can be attached in a mount namespace owned by a child user namespace; about
0.2 ms per tree for open_tree + mount_setattr.

The mapping that an idmapped mount uses is a user namespace's: for paths owned by root (the
common case when warden runs as root) the program's own (0 -> the program's uid); for other
owners a throwaway one (``owner -> the program's uid``), which costs a fork (about 6 ms).

Not every file system allows idmapped mounts (overlayfs does not, measured: EINVAL), and
kernels before 6.3 lack them for tmpfs. :func:`plan` checks each tree's file systems against
:data:`IDMAP_FILESYSTEMS` before the sandbox is started; when one does not qualify, the run
keeps the caller's uid (today's behaviour) and says so: a line in the run's ``weaker`` list
and the ``uid`` field of the start record. A caller that is not root has no other uid to give.

Uid choice: ``UID_BASE`` + 1..65534, per session. systemd's UIDS-GIDS.md leaves
1879048192..2147483647 unassigned, apart from its "foreign" range 0x7FFE0000..0x7FFEFFFF
(2147352576..2147418111); 0x7FFF0000 (2147418112) is the 64 Ki block just above it, below
2^31 (ids above it are mishandled by tools that treat uid_t as signed). A uid per session keeps
two concurrent runs from sharing an identity (their private /tmp files, their processes);
the program's uid owns no file that outlives the run (every writable root is idmapped back
to its owner), so a uid reused by a later session finds nothing of the earlier one's.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from warden.contain import ns
from warden.contain.spec import SandboxSpec

__all__ = [
    "IDMAP_FILESYSTEMS",
    "UID_BASE",
    "Identity",
    "Tree",
    "build_trees",
    "kernel_version",
    "mapping_namespaces",
    "own_ids",
    "plan",
]

#: First id of the block the programs' uids and gids are taken from (see the module docstring).
UID_BASE = 0x7FFF0000
#: File systems that accept idmapped mounts on the kernels this plan allows (6.3+: FS_ALLOW_IDMAP).
IDMAP_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "vfat"})
#: tmpfs got idmapped mounts in 6.3; the others earlier (ext4, xfs, vfat 5.12; btrfs 5.15)
MIN_KERNEL = (6, 3)
#: how many trees one run may need (one SCM_RIGHTS message carries them)
MAX_TREES = 32


def own_ids(session: str) -> int:
    """The host uid (and gid) of ``session``'s program: ``UID_BASE`` + 1..65534."""
    import hashlib

    digest = int.from_bytes(hashlib.blake2b(session.encode(), digest_size=8).digest(), "big")
    return UID_BASE + 1 + digest % 65534


@dataclass(frozen=True)
class Tree:
    """One idmapped mount: ``path`` shown with ``owner`` (uid, gid) as the program's ids."""

    path: str
    owner: tuple[int, int]
    writable: bool
    #: (st_dev, st_ino) seen when planned: the tree is made from a descriptor checked against
    #: it, so a path swapped between planning and building is refused, not cloned
    inode: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Identity:
    """The program's host uid/gid, and the idmapped trees it needs (none: the caller's uid)."""

    uid: int
    gid: int
    own: bool
    trees: tuple[Tree, ...] = ()
    #: why the program keeps the caller's uid (None when it has its own)
    why_not: str | None = None

    def to_record(self) -> dict[str, object]:
        return {"host": self.uid, "own": self.own, **({"why_not": self.why_not}
                                                      if self.why_not else {})}  # fmt: skip


def kernel_version() -> tuple[int, ...]:
    """(major, minor) of the running kernel."""
    parts = []
    for piece in platform.release().split("-")[0].split(".")[:2]:
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


def _unescape(field: str) -> str:
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))  # fmt: skip


def _mounts(mountinfo: str) -> list[tuple[str, str]]:
    """(mount point, file system type) of each mount, in mountinfo order (proc(5))."""
    out = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if sep and len(fields) >= 5 and tail:
            out.append((_unescape(fields[4]), tail.split()[0]))
    return out


def _beneath(path: str, root: str) -> bool:
    return path == root or root == "/" or path.startswith(root.rstrip("/") + "/")


def _unqualified(path: str, mounts: list[tuple[str, str]]) -> str | None:
    """The type of a file system in the tree at ``path`` that cannot be idmapped, or None."""
    holder = max((i for i, (point, _) in enumerate(mounts) if _beneath(path, point)),
                 key=lambda i: (len(mounts[i][0]), i), default=None)  # fmt: skip
    if holder is None:
        return "unknown"
    kinds = [mounts[holder][1]]
    kinds += [kind for point, kind in mounts if point != path and _beneath(point, path)]
    for kind in kinds:
        if kind not in IDMAP_FILESYSTEMS:
            return kind
    return None


def _blocking_ancestors(
    path: str, writable_roots: list[str], seen: dict[str, os.stat_result | None]
) -> list[str]:
    """Directories above ``path`` that a uid with no other right could not search (``seen``:
    the directories already looked at, shared by the paths of one plan)."""
    out = []
    parent = os.path.dirname(path)
    chain = []
    while parent not in ("/", ""):
        chain.append(parent)
        parent = os.path.dirname(parent)
    for d in reversed(chain):
        if any(_beneath(d, w) for w in writable_roots):
            break  # inside an idmapped writable root: the owner's view applies from here
        if d not in seen:
            try:
                seen[d] = os.stat(d)
            except OSError:
                seen[d] = None
        st = seen[d]
        if st is None:
            break
        if not st.st_mode & 0o001:
            out.append(d)
    return out


def plan(spec: SandboxSpec, *, mountinfo: str | None = None) -> Identity:
    """The program's identity for ``spec``: its own uid when warden runs as root and every
    tree it needs can be idmapped; else the caller's, with the reason."""
    caller = Identity(os.getuid(), os.getgid(), own=False)
    if os.geteuid() != 0:
        return _keep(caller, "warden is not root: no other uid to give the program")
    if kernel_version() < MIN_KERNEL:
        return _keep(caller, f"kernel {platform.release()} predates idmapped tmpfs (6.3)")
    writable = sorted(set(spec.write))
    trees: dict[str, Tree] = {}
    seen: dict[str, os.stat_result | None] = {}
    for path in [*spec.write, *spec.read, spec.cwd]:
        for d in _blocking_ancestors(path, writable, seen):
            if d not in trees:
                st = seen[d]
                assert st is not None
                trees[d] = Tree(d, (st.st_uid, st.st_gid), writable=False,
                                inode=(st.st_dev, st.st_ino))
    for path in spec.read:
        # a granted path the program could not read as "other" itself (a 0700 toolchain
        # directory, a 0600 ~/.gitconfig): a read-only view of it, as its owner
        st = os.stat(path)
        need = 0o005 if os.path.isdir(path) else 0o004
        owner = (st.st_uid, st.st_gid)
        if st.st_mode & need == need or any(
            _beneath(path, t.path) and t.owner == owner for t in trees.values()
        ):
            continue  # readable as it is, or through the view of a directory above
        trees[path] = Tree(path, owner, writable=False, inode=(st.st_dev, st.st_ino))
    for path in writable:
        if any(_beneath(path, w) and path != w for w in writable):
            continue  # inside another writable root, which is idmapped recursively
        st = os.stat(path)
        trees[path] = Tree(path, (st.st_uid, st.st_gid), writable=True,
                           inode=(st.st_dev, st.st_ino))
    if len(trees) > MAX_TREES:
        return _keep(caller, f"{len(trees)} granted paths need idmapped mounts (max {MAX_TREES})")
    if mountinfo is None:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            mountinfo = fh.read()
    mounts = _mounts(mountinfo)
    for tree in trees.values():
        kind = _unqualified(tree.path, mounts)
        if kind is not None:
            return _keep(caller, f"{tree.path} is on {kind}, which has no idmapped mounts")
    ids = own_ids(spec.session)
    ordered = sorted(trees.values(), key=lambda t: (t.path.count("/"), t.path))
    return Identity(ids, ids, own=True, trees=tuple(ordered))


def _keep(caller: Identity, why: str) -> Identity:
    return Identity(caller.uid, caller.gid, own=False, why_not=why)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def mapping_namespaces(ident: Identity) -> dict[tuple[int, int], int]:
    """A user namespace (descriptor) mapping each tree owner other than root onto the
    program's ids; trees owned by 0:0 use the program's own namespace (0 -> its ids).

    Each is made by a forked child that unshares and waits while its maps are written; the
    descriptor keeps the namespace after the child is gone. Called before the sandbox's own
    fork, while the supervisor runs no thread of its own.
    """
    out: dict[tuple[int, int], int] = {}
    try:
        for owner in dict.fromkeys(t.owner for t in ident.trees if t.owner != (0, 0)):
            out[owner] = _mapping_namespace(owner, ident.uid, ident.gid)
    except BaseException:
        for fd in out.values():
            os.close(fd)
        raise
    return out


def _mapping_namespace(owner: tuple[int, int], uid: int, gid: int) -> int:
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(ready_r)
            os.close(done_w)
            ns.unshare(ns.CLONE_NEWUSER)
            os.write(ready_w, b"u")
            os.read(done_r, 1)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"u":
            raise OSError("could not create a user namespace for an idmapped mount")
        _write(f"/proc/{pid}/uid_map", f"{owner[0]} {uid} 1\n")
        _write(f"/proc/{pid}/gid_map", f"{owner[1]} {gid} 1\n")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)


def build_trees(ident: Identity, stage_pid: int, mapping: dict[tuple[int, int], int]) -> list[int]:
    """The detached idmapped trees of ``ident``, in order (made once the stage's user
    namespace has its maps); raises ``OSError`` naming the path that failed."""
    own = os.open(f"/proc/{stage_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    fds: list[int] = []
    try:
        for tree in ident.trees:
            userns = mapping.get(tree.owner, own)
            fds.append(_tree(tree, userns))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    finally:
        os.close(own)
    return fds


def _tree(tree: Tree, userns: int) -> int:
    """The idmapped clone of ``tree``, made from a descriptor of the very directory that was
    planned (same device, inode and owner), never from a second walk of its path."""
    where = os.open(tree.path, os.O_PATH | os.O_CLOEXEC)
    try:
        st = os.fstat(where)
        if (st.st_dev, st.st_ino) != tree.inode or (st.st_uid, st.st_gid) != tree.owner:
            raise OSError(f"{tree.path} changed between planning and building the sandbox")
        return ns.idmapped_tree(tree.path, userns, readonly=not tree.writable, fd=where)
    finally:
        os.close(where)
