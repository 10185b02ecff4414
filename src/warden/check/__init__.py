"""Layer 1, check: lift actions into facts and judge them against policy and rule packs."""

from __future__ import annotations

from warden.check.engine import CheckContext, Engine

__all__ = ["CheckContext", "Engine", "load_engine"]


def load_engine(
    *,
    workspace: str | None = None,
    policy_files: tuple[str, ...] = (),
    packs: tuple[str, ...] = (),
    home: str | None = None,
) -> Engine:
    """The engine for the layered policy (built-in < user < project < ``policy_files``).

    Raises :class:`~warden.errors.ConfigError` listing every problem in every file.
    """
    return Engine.from_files(policy_files=policy_files, workspace=workspace, packs=packs,
                             home=home)  # fmt: skip
