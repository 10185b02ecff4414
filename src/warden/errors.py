"""The one exception tree of warden.

Every error warden raises on purpose is a ``WardenError``; foreign exceptions are translated
where they enter (``raise ... from exc``) so callers catch one family::

    WardenError
    ├── InputError            an action, hook payload or CLI argument that cannot be understood
    ├── ConfigError           a policy or rule pack that cannot be loaded
    │   ├── PolicyError
    │   └── RuleError
    ├── ContainmentError      a containment mechanism is missing, too old, or failed (layer 2)
    ├── HookError             a coding-agent hook call that cannot be answered as asked
    ├── AuditError            the tamper-evident log (layer 4)
    │   ├── StoreError        the backing store failed (I/O, SQLite, locking)
    │   ├── KeyError_         a signing or verification key is missing, malformed or wrong
    │   ├── FormatError       a checkpoint, note, proof or bundle is malformed
    │   └── VerificationError the log does not verify (tampering, rollback, fork)
    ├── warden.sdk.ToolDenied        a guarded tool call was not let through (carries the Decision)
    └── warden.sdk.FrameworkMissing  an SDK adapter's framework is not installed (says what to pip)

The two SDK errors live in ``warden.sdk`` (they carry SDK objects and only SDK callers see them);
they are listed here so that the tree stays whole.

``ConfigError`` carries every problem found in one load as ``issues`` (file, line, message), so a
user sees all of them in one run rather than one per attempt.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "AuditError",
    "ConfigError",
    "ConfigIssue",
    "ContainmentError",
    "FormatError",
    "HookError",
    "InputError",
    "KeyError_",
    "PolicyError",
    "RuleError",
    "StoreError",
    "VerificationError",
    "WardenError",
]


class WardenError(Exception):
    """Base of every error warden raises on purpose."""


class InputError(WardenError):
    """An action, hook payload or argument that cannot be understood."""


class ContainmentError(WardenError):
    """A containment mechanism is missing, too old, or failed to apply (fail closed)."""


class HookError(WardenError):
    """A hook invocation that cannot be answered as asked (bad arguments, unknown agent)."""


class ConfigIssue(NamedTuple):
    """One problem in a configuration file, located as precisely as the format allows.

    (A NamedTuple rather than a dataclass: a hook process then never imports ``dataclasses``.)
    """

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(WardenError):
    """A policy or rule file that cannot be loaded; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue] | tuple[ConfigIssue, ...]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid configuration")


class PolicyError(ConfigError):
    """A policy file that cannot be loaded."""


class RuleError(ConfigError):
    """A rule pack that cannot be loaded."""


class AuditError(WardenError):
    """The tamper-evident audit log failed."""


class StoreError(AuditError):
    """The audit store failed (I/O, database, locking)."""


class KeyError_(AuditError):
    """A signing or verification key is missing, malformed or wrong."""


class FormatError(AuditError):
    """A checkpoint, signed note, proof or bundle is malformed."""


class VerificationError(AuditError):
    """The log does not verify: an entry was changed, removed, reordered, or the log forked."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        self.index = index
        super().__init__(message if index is None else f"entry {index}: {message}")
