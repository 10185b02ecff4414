import functools

from warden.check.engine import Engine
from warden.check.rules.lint import EXAMPLE_HOME


@functools.cache
def example_engine() -> Engine:
    return Engine.builtin(home=EXAMPLE_HOME)
