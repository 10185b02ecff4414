"""Inputs that once crashed the C parser (segfault) must now be analysed, in a child process so
a regression fails this test instead of killing the test run."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ASSET = Path(__file__).resolve().parents[2] / "assets" / "parser" / "crashes.txt"
CASES = [ast.literal_eval(line) for line in ASSET.read_text(encoding="utf-8").splitlines()
         if line.strip() and not line.startswith("#")]

CHILD = """
import sys
from warden.check.paths import PathContext
from warden.check.shell.walker import analyze_command
ctx = PathContext(cwd="/tmp", home="/home/dev", workspace="/tmp")
text = sys.stdin.buffer.read().decode("utf-8", "surrogatepass")
for prefix in ("", "echo ", "cat ", "x | ", "$("):
    for _ in range(20):  # the crash was nondeterministic: repeat
        analyze_command(prefix + text, ctx)
print("ok")
"""


@pytest.mark.parametrize("text", CASES, ids=lambda t: repr(t)[:24])
def test_crash_input_is_analysed(text: str) -> None:
    r = subprocess.run([sys.executable, "-c", CHILD], input=text.encode("utf-8", "surrogatepass"),
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == b"ok", r.stderr.decode()[-500:]
