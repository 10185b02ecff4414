"""Test-wide settings.

Property tests explore new random examples on every local run (that is how the tree-sitter
segfault was found). In CI (``CI`` set) they are derandomized: the same examples every run, so a
submission is judged on reproducible results; anything a local run finds becomes a named asset.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
