"""Tickets of calls that were allowed and have not returned yet, keyed by the framework's
tool-call id, so an adapter's after-call step can record the result against its decision."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warden.sdk._guard import Ticket

__all__ = ["MAX_PENDING", "Pending"]

#: Calls awaiting their result at once. An agent runs a handful in parallel; past this the
#: oldest are dropped (their results are then recorded without a decision link, not lost).
MAX_PENDING = 4096


class Pending:
    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def put(self, call_id: str, ticket: Ticket) -> None:
        with self._lock:
            self._tickets[call_id] = ticket
            while len(self._tickets) > MAX_PENDING:
                self._tickets.pop(next(iter(self._tickets)))

    def pop(self, call_id: str) -> Ticket | None:
        with self._lock:
            return self._tickets.pop(call_id, None)
