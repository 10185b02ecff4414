"""Test helper, put on ``PYTHONPATH`` of a ``warden mcp`` process: an audit log whose commits
are slowed or fail on demand, so a test can watch what the proxy does meanwhile.

- ``WARDEN_TEST_COMMIT_DELAY`` (seconds): each commit that holds a ``decision`` record sleeps
  this long before it is written (other commits are not slowed);
- ``WARDEN_TEST_COMMIT_FAIL`` (a path): while that file exists, every commit fails with a
  store error, as a full or broken disk would.

It wraps the SQLite store's ``append`` (the one durable write of a commit); nothing else of
warden is touched.
"""

import os
import time

_DELAY = float(os.environ.get("WARDEN_TEST_COMMIT_DELAY") or 0)
_FAIL = os.environ.get("WARDEN_TEST_COMMIT_FAIL")

if _DELAY or _FAIL:
    from warden.errors import StoreError
    from warden.record.store.sqlite import SQLiteStore

    _append = SQLiteStore.append

    def append(self, start, datas, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _FAIL and os.path.exists(_FAIL):
            raise StoreError("test: the audit store refuses every commit")
        if _DELAY and any(b'"type":"decision"' in data for data in datas):
            time.sleep(_DELAY)
        return _append(self, start, datas, *args, **kwargs)

    SQLiteStore.append = append  # type: ignore[method-assign]
