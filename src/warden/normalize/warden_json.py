"""warden's own action JSON: the :class:`~warden.action.Action` model, already in our vocabulary.

The shape is the model itself (``src/warden/action.py``; its JSON Schema is
:func:`warden.action.action_json_schema`). It is recognised by its ``kind`` key. Validation is the
model's: unknown keys, wrong types and missing kind-specific fields are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from warden.action import Action
from warden.errors import InputError
from warden.normalize import _fields as f
from warden.normalize.base import HookEvent, HookKind, Source

__all__ = ["WardenJsonAdapter"]


class WardenJsonAdapter:
    """Reads warden action JSON (already decoded) with the model's own validation."""

    source = Source.WARDEN

    def normalize(self, payload: Mapping[str, Any]) -> Action:
        data = f.clean_object(payload, where="warden action")
        try:
            action = msgspec.convert(data, type=Action)
        except msgspec.ValidationError as exc:
            raise InputError(f"invalid warden action: {exc}") from exc
        except (ValueError, TypeError) as exc:  # defensive: an invariant outside msgspec's net
            raise InputError(f"invalid warden action: {exc}") from exc
        for name in ("command", "path", "url", "tool"):
            value = getattr(action, name)
            if isinstance(value, str):
                f.check_identifier(value, where="warden action", key=name)
        for change in action.changes:
            f.check_identifier(change.path, where="warden action", key="changes.path")
            if change.move_to:
                f.check_identifier(change.move_to, where="warden action", key="changes.move_to")
        return action

    def parse_hook(self, payload: Mapping[str, Any]) -> HookEvent:
        action = self.normalize(payload)
        return HookEvent(
            kind=HookKind.PRE_TOOL,
            action=action,
            session_id=action.session_id,
            cwd=action.cwd,
            source=Source.WARDEN,
        )
