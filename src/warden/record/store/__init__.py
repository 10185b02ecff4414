"""Audit store backends: the interface and the SQLite implementation."""

from __future__ import annotations

from warden.record.store.base import AuditStore, NewEntry, StoreConflict, node_location
from warden.record.store.sqlite import SQLiteStore

__all__ = ["AuditStore", "NewEntry", "SQLiteStore", "StoreConflict", "node_location"]
