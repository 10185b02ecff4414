import functools

from warden.check.engine import Engine
from warden.check.rules.lint import EXAMPLE_HOME


@functools.cache
def example_engine() -> Engine:
    """The built-in policy and packs, on the fictional machine the rule examples use."""
    return Engine.builtin(home=EXAMPLE_HOME)
