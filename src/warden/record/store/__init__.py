"""Audit store backends: the interface and the SQLite implementation."""

from __future__ import annotations

from warden.record.store.base import AuditStore, StoreConflict, node_location
from warden.record.store.sqlite import SQLiteStore

__all__ = ["AuditStore", "SQLiteStore", "StoreConflict", "node_location"]
