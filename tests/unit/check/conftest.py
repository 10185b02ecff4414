import functools

from warden.check.engine import Engine
from warden.check.policy.load import Layer, builtin_policy_path, load_policy
from warden.check.rules.lint import EXAMPLE_HOME
from warden.check.rules.load import load_packs


@functools.cache
def example_engine() -> Engine:
    """The built-in policy and packs, on the fictional machine the rule examples use."""
    return Engine(load_policy([Layer(builtin_policy_path(), "builtin")]), load_packs(),
                  home=EXAMPLE_HOME)
