"""Shared by the tests below: the example engine (see warden.check.rules.lint)."""

from warden.check.rules.lint import example_engine

__all__ = ["example_engine"]
