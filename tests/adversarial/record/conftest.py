"""Fixtures of the tamper suites."""

from __future__ import annotations

import pytest

from .helpers import TOOLS, SqlRunner


@pytest.fixture(params=sorted(TOOLS))
def sql(request: pytest.FixtureRequest) -> SqlRunner:
    return TOOLS[request.param]
