"""The engine's inputs, loaded once: validated policy layers and rule packs cached with msgspec.

A hook process judges one action and exits, so reading and validating the TOML of every rule
pack (tens of milliseconds) would be most of its cost. :func:`load_inputs` keeps the result of a
successful load (each layer's validated :class:`~warden.check.policy.model.PolicySpec` and every
rule's :class:`~warden.check.rules.model.RuleSpec` with its ``file:line``) in one msgpack file
per combination of inputs, under ``$XDG_CACHE_HOME/warden/engine`` (else ``~/.cache/...``).
Rules are compiled from it as from a fresh load; only parsing and validation are skipped.

**What makes an entry apply.** Its name is a SHA-256 over the cache format, the warden and
Python versions, the size and mtime of the modules that parse and validate (so an edited
checkout never reuses an old validation), and the path, kind and *content digest* of every
policy layer, built-in pack and ``--pack`` file. Packs named by a policy's ``[packs] extra``
are only known after parsing, so the entry lists them with their digests and is used only if
they still match. A file that changes between hashing and parsing makes the entry unwritten.
Errors are never cached: a policy or pack with problems is parsed every time and reported with
``file:line``.

**Safety.** Entries are data, decoded into typed structs by msgspec (never pickle, never code):
a corrupt, truncated, foreign or wrongly typed file fails to decode and is ignored (the inputs
are loaded fresh and the entry rewritten). The directory is created ``0700`` and entries are
written ``0600`` through an atomic rename; an entry or directory that is not a regular file
owned by this user, or that others may write, is ignored. What remains is the owner: whoever
can write this user's cache directory could plant an entry with weaker rules, and could equally
edit the user's ``~/.config/warden/policy.toml`` to turn rules off, so the cache adds no
privilege to the trust boundary that already exists. An agent judged by warden is kept out of
both by the same rule (``oversight.warden-tamper`` covers ``~/.cache/warden``), and
``WARDEN_NO_CACHE=1`` (or ``Engine.from_files(cache=False)``) loads from source every time.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from warden.check.policy.model import PolicySpec
from warden.check.rules.model import RuleSpec

if TYPE_CHECKING:
    from warden.check.policy.load import Layer, Policy
    from warden.check.rules.load import LoadedRule

__all__ = ["CACHE_FORMAT", "cache_dir", "load_inputs"]

#: Bumped whenever the entry layout or the meaning of its fields changes.
CACHE_FORMAT = 1

#: Entries kept; the oldest are removed past this (one per workspace with its own policy).
MAX_ENTRIES = 64

#: Largest entry read (bytes); the built-in packs take about 0.2 MB.
MAX_ENTRY_BYTES = 32 * 1024 * 1024

#: The modules whose code decides what a valid input is: their size and mtime join the key.
_CODE = ("cache.py", "rules/load.py", "rules/model.py", "policy/load.py", "policy/model.py",
         "tomlsrc.py", "paths.py", "../decision.py")  # fmt: skip


class _Rule(msgspec.Struct, frozen=True, array_like=True):
    spec: RuleSpec
    source: str


class _Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: int
    key: str
    layers: list[PolicySpec]
    extra_packs: list[tuple[str, str]]  # (path, sha256) of packs named by the policy
    rules: list[_Rule]


_DECODER = msgspec.msgpack.Decoder(_Entry)


def cache_dir() -> Path:
    """Where entries live: ``$XDG_CACHE_HOME/warden/engine``, else ``~/.cache/warden/engine``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "warden" / "engine"


def load_inputs(
    *, workspace: str | None = None, policy_files: Iterable[str] = (), packs: Iterable[str] = (),
    use_cache: bool = True,
) -> tuple[Policy, list[LoadedRule]]:  # fmt: skip
    """The effective policy and every rule, as :func:`~warden.check.policy.load.load_policy`
    and :func:`~warden.check.rules.load.load_packs` give them, from the cache when it applies.

    Raises :class:`~warden.errors.ConfigError` listing every problem, as a fresh load does.
    """
    from warden.check.policy.load import default_layers, merge_policy
    from warden.check.rules.load import builtin_pack_paths

    layers = default_layers(workspace, [Path(p) for p in policy_files])
    explicit = [Path(p) for p in packs]
    if not use_cache or os.environ.get("WARDEN_NO_CACHE"):
        return _fresh(layers, explicit)
    head = _head_key([(layer.kind, layer.path) for layer in layers], builtin_pack_paths(), explicit)
    if head is None:  # an input cannot be read: the fresh load reports it properly
        return _fresh(layers, explicit)
    folder = cache_dir()
    entry = _read_entry(folder, head)
    if entry is not None and len(entry.layers) == len(layers):
        from warden.check.rules.load import LoadedRule

        policy = merge_policy(list(zip(layers, entry.layers, strict=True)))
        return policy, [LoadedRule(r.spec, r.source) for r in entry.rules]
    parsed, policy, rules = _fresh_parsed(layers, explicit)
    extras = [(str(p), _digest_file(p)) for p in policy.extra_packs]
    again = _head_key(
        [(layer.kind, layer.path) for layer in layers], builtin_pack_paths(), explicit
    )
    if again == head and all(d is not None for _, d in extras):  # nothing changed meanwhile
        fresh = _Entry(CACHE_FORMAT, head, [spec for _, spec in parsed],
                       [(p, d) for p, d in extras if d is not None],
                       [_Rule(r.spec, r.source) for r in rules])  # fmt: skip
        _write_entry(folder, head, fresh)
    return policy, rules


def _fresh(layers: list[Layer], explicit: list[Path]) -> tuple[Policy, list[LoadedRule]]:
    _, policy, rules = _fresh_parsed(layers, explicit)
    return policy, rules


def _fresh_parsed(
    layers: list[Layer], explicit: list[Path]
) -> tuple[list[tuple[Layer, PolicySpec]], Policy, list[LoadedRule]]:
    from warden.check.policy.load import merge_policy, parse_layers
    from warden.check.rules.load import load_packs

    parsed = parse_layers(layers)
    policy = merge_policy(parsed)
    rules = load_packs([*policy.extra_packs, *explicit])
    return parsed, policy, rules


def _digest_file(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _code_stamp() -> str:
    here = Path(__file__).parent
    parts = []
    for name in _CODE:
        try:
            st = (here / name).stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return ";".join(parts)


def _head_key(
    layers: list[tuple[str, Path]], builtin: list[Path], explicit: list[Path]
) -> str | None:
    """The entry name for these inputs, or None when one cannot be read."""
    from warden import __version__

    h = hashlib.sha256()
    h.update(f"warden-engine-cache {CACHE_FORMAT} {__version__} {sys.version} "
             f"{_code_stamp()}\n".encode())  # fmt: skip
    for group, items in (("layer", layers), ("builtin", [("", p) for p in builtin]),
                         ("pack", [("", p) for p in explicit])):  # fmt: skip
        for kind, path in items:
            digest = _digest_file(path)
            if digest is None:
                return None
            h.update(f"{group}\0{kind}\0{os.path.abspath(path)}\0{digest}\n".encode())
    return h.hexdigest()


def _private_dir(folder: Path) -> bool:
    """Whether ``folder`` is a directory of ours that no one else may write."""
    try:
        st = folder.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))  # fmt: skip


def _read_entry(folder: Path, head: str) -> _Entry | None:
    if not _private_dir(folder):
        return None
    try:
        fd = os.open(folder / f"{head}.msgpack", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
                or st.st_size > MAX_ENTRY_BYTES):  # fmt: skip
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        entry = _DECODER.decode(data)
    except (msgspec.DecodeError, ValueError):
        return None
    if entry.format != CACHE_FORMAT or entry.key != head:
        return None
    for path, digest in entry.extra_packs:
        if _digest_file(Path(path)) != digest:
            return None
    return entry


def _write_entry(folder: Path, head: str, entry: _Entry) -> None:
    """Best effort: a cache that cannot be written only costs the next process a fresh load."""
    import tempfile

    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        if not _private_dir(folder):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".msgpack")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(msgspec.msgpack.encode(entry))
            Path(tmp).replace(folder / f"{head}.msgpack")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    entries = [p for p in folder.iterdir() if p.suffix == ".msgpack" and not p.name.startswith(".")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime_ns)
    for old in entries[: len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)
