"""Layer 1, check: lift actions into facts and judge them against policy and rule packs.

``Engine`` and ``CheckContext`` load on first use (``warden._lazy``): ``warden run`` imports
``warden.check.policy`` on its way to the sandbox, and the engine (the rule compiler, the
shell analyser) is built in a background thread there, after the program started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden._lazy import lazy_exports

__all__ = ["CheckContext", "Engine", "load_engine"]

_LAZY = {"CheckContext": "warden.check.engine", "Engine": "warden.check.engine"}

if TYPE_CHECKING:
    from warden.check.engine import CheckContext, Engine


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
    from warden.check.engine import Engine

    return Engine.from_files(policy_files=policy_files, workspace=workspace, packs=packs,
                             home=home)  # fmt: skip


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
