"""The one exception tree of warden.

Every error warden raises on purpose is a ``WardenError``; foreign exceptions are translated
where they enter (``raise ... from exc``) so callers catch one family::

    WardenError
    ├── InputError            an action, hook payload or CLI argument that cannot be understood
    ├── ConfigError           a policy or rule pack that cannot be loaded
    │   ├── PolicyError
    │   └── RuleError
    └── AuditError            the tamper-evident log (layer 4)
        ├── StoreError        the backing store failed (I/O, SQLite, locking)
        ├── KeyError_         a signing or verification key is missing, malformed or wrong
        ├── FormatError       a checkpoint, note, proof or bundle is malformed
        └── VerificationError the log does not verify (tampering, rollback, fork)

``ConfigError`` carries every problem found in one load as ``issues`` (file, line, message), so a
user sees all of them in one run rather than one per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AuditError",
    "ConfigError",
    "ConfigIssue",
    "FormatError",
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


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration file, located as precisely as the format allows."""

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
