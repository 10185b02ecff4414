"""Load rule packs strictly: unknown keys, duplicate ids and bad values are refused, all at once.

Every problem in every pack is collected and raised together as one :class:`RuleError` whose
issues carry ``file:line``, so a pack author fixes them in one pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from warden.check.rules.model import PackSpec, RuleSpec, Selection
from warden.decision import Severity, Verdict
from warden.errors import ConfigIssue, RuleError

if TYPE_CHECKING:
    from warden.check.tomlsrc import TomlDoc

__all__ = ["CATEGORIES", "LoadedRule", "builtin_pack_paths", "load_packs"]

#: The categories a rule may belong to; policies set verdicts per category.
CATEGORIES = (
    "collection",
    "credential-access",
    "exfiltration",
    "self-exfiltration",
    "oversight-subversion",
    "persistence",
    "indicator-removal",
    "destruction",
    "remote-code",
    "reverse-shell",
    "privilege-escalation",
    "network-scan",
    "resource-exhaustion",
    "obfuscation",
    "analysis",
    "policy",
)

_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
_TECHNIQUE = re.compile(r"^(T\d{4}(\.\d{3})?|TA\d{4}|LLM\d{2})$")
_SUBJECT_FIELDS = ("exec", "file", "net", "marker", "env_set", "env_read", "secret", "action")
_PATH_START = ("/", "~/", "**", "~")


class LoadedRule(msgspec.Struct, frozen=True):
    spec: RuleSpec
    source: str  # file:line


def builtin_pack_paths() -> list[Path]:
    """The packs that ship with warden, in name order."""
    # next to this module, as installed; not importlib.resources, whose import alone costs a
    # hook process milliseconds (warden is not importable from a zip file: its packs are files)
    root = Path(__file__).parent / "packs"
    return sorted(p for p in root.iterdir() if p.name.endswith(".toml"))


def _check_rule(spec: RuleSpec, doc: TomlDoc, index: int, issues: list[ConfigIssue]) -> None:
    where = ("rule", index)

    def bad(key: str, msg: str) -> None:
        issues.append(doc.issue((*where, key), f"rule {spec.id!r}: {msg}"))

    if not _ID.match(spec.id):
        bad("id", "ids are dotted lower-case names such as `cred.ssh-key`")
    if spec.category not in CATEGORIES:
        bad("category", f"unknown category {spec.category!r} (one of {', '.join(CATEGORIES)})")
    for key, parse in (("severity", Severity.parse), ("verdict", Verdict.parse)):
        try:
            parse(getattr(spec, key))
        except ValueError as exc:
            bad(key, str(exc))
    techniques = [spec.technique] if isinstance(spec.technique, str) else spec.technique
    for tech in techniques:
        if not _TECHNIQUE.match(tech):
            bad("technique", f"{tech!r} is not an ATT&CK id (T1234, T1234.001) or LLM01")
    if not spec.reason.strip() or len(spec.reason) > 160:
        bad("reason", "the reason is one line for people and agents (1-160 characters)")
    selections = [spec.match] if isinstance(spec.match, Selection) else list(spec.match or [])
    for sel in selections:
        if all(getattr(sel, f) is None for f in _SUBJECT_FIELDS):
            bad("match", "an empty selection would match every action")
        if sel.file is not None:
            pats = sel.file.path if isinstance(sel.file.path, list) else [sel.file.path]
            for pat in pats:
                if pat is not None and not pat.startswith(_PATH_START):
                    bad("match", f"path pattern {pat!r} must start with /, ~/ or **")
    if not selections and not spec.requires:
        bad("match", "a rule needs `match` or `requires`")
    if spec.examples.match == [] and spec.enabled:
        bad("examples", "every rule carries at least one `examples.match` case")


def load_packs(paths: list[Path] | None = None, *, builtin: bool = True) -> list[LoadedRule]:
    """Load and validate packs (the built-in ones first, then ``paths``)."""
    from warden.check.tomlsrc import msgspec_path, read_toml

    files = (builtin_pack_paths() if builtin else []) + list(paths or [])
    issues: list[ConfigIssue] = []
    rules: list[LoadedRule] = []
    seen: dict[str, str] = {}
    for file in files:
        doc = read_toml(file)
        if isinstance(doc, ConfigIssue):
            issues.append(doc)
            continue
        try:
            pack = msgspec.convert(doc.data, PackSpec)
        except msgspec.ValidationError as exc:
            path, msg = msgspec_path(str(exc))
            issues.append(doc.issue(path, msg))
            continue
        for index, raw in enumerate(pack.rule):
            try:
                spec = msgspec.convert(raw, RuleSpec)
            except msgspec.ValidationError as exc:
                path, msg = msgspec_path(str(exc))
                ident = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else index
                issues.append(doc.issue(("rule", index, *path), f"rule {ident!r}: {msg}"))
                continue
            _check_rule(spec, doc, index, issues)
            line = doc.locator.line_of(("rule", index))
            source = f"{doc.name}:{line}" if line else doc.name
            if spec.id in seen:
                issues.append(
                    doc.issue(("rule", index, "id"), f"duplicate rule id {spec.id!r} "
                              f"(first defined at {seen[spec.id]})")
                )  # fmt: skip
                continue
            seen[spec.id] = source
            rules.append(LoadedRule(spec, source))
    if issues:
        raise RuleError(issues)
    return rules
