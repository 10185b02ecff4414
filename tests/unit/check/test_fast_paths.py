"""Fast paths of the check engine give exactly the answers of the plain code they replace.

- ``paths._resolve_missing`` against :func:`os.path.realpath`, on a real tree of files,
  directories and (dangling, relative, absolute, looping) symlinks;
- ``compile.re2_searcher`` and the secrets gate against the RE2 wrapper's ``search``;
- the engine's memoised, gate-filtered candidate lists against a freshly built engine;
- the lazily built RE2 path set, and its stdlib fallback, against per-condition regexes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.check import secrets
from warden.check.engine import Engine
from warden.check.paths import _resolve_missing, resolve
from warden.check.rules.compile import PathIndex, re2_searcher
from warden.check.rules.lint import EXAMPLE_CONTEXT, EXAMPLE_HOME, example_action

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from corpora import benign_actions, benign_commands, holdout_attacks


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("resolve")
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "dir" / "file").write_text("x")
    (root / "link-dir").symlink_to("dir")
    (root / "dir" / "up").symlink_to("..")
    (root / "abs").symlink_to(root / "dir" / "sub")
    (root / "dangling").symlink_to("nowhere/deeper")
    (root / "dangling-abs").symlink_to("/nonexistent-warden-test/x")
    (root / "loop-a").symlink_to("loop-b")
    (root / "loop-b").symlink_to("loop-a")
    (root / "closed").mkdir()
    (root / "closed" / "inside").mkdir()
    return root


_NAMES = ["dir", "sub", "file", "link-dir", "up", "abs", "dangling", "dangling-abs", "loop-a",
          "missing", "closed", "inside", "x"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(_NAMES), min_size=0, max_size=6))
def test_resolve_missing_is_realpath(tree: Path, parts: list[str]) -> None:
    path = os.path.join(str(tree), *parts)
    assert _resolve_missing(path) == os.path.realpath(path), path


_EDGES = ["/", "/nonexistent-warden/a/b", "/etc/passwd/x", "//x/y", "/a/./b", "/a/../b",
          "relative/x", "/proc/self/fd/999/x"]  # fmt: skip


@pytest.mark.parametrize("path", _EDGES)
def test_resolve_missing_edge_paths(path: str) -> None:
    assert _resolve_missing(path) == os.path.realpath(path)


def test_resolve_of_missing_paths_in_a_tree(tree: Path) -> None:
    for tail in ("missing", "dir/missing/x", "dangling", "dangling/more", "dir/file/x",
                 "link-dir/missing", "abs/missing", "dir/up/dir/missing"):  # fmt: skip
        path = str(tree / tail)
        assert resolve(path) == os.path.realpath(path), tail


_SAMPLES = ["", "warden", "pkill -f warden", "kill auditd", "é warden ü", "x" * 300, "AUDITD",
            "wardenx", "sk-ant-" + "a" * 40]  # fmt: skip
_TEXTS = st.one_of(st.text(max_size=60), st.sampled_from(_SAMPLES))
_PATTERNS = [r"(?i)\b(warden|auditd)\b", r"^$", r"\d{3,}", r"é", r"(?s).", r"x{200}", r"\bsk-"]


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS)
def test_re2_searcher_is_the_wrapper_search(text: str) -> None:
    for pattern in _PATTERNS:
        rx = re2.compile(pattern)
        assert re2_searcher(rx)(text) == (rx.search(text) is not None), (pattern, text)


def test_re2_searcher_raises_where_the_wrapper_raises() -> None:
    rx = re2.compile("a")
    lone = "a\udc80"
    with pytest.raises(UnicodeEncodeError):
        rx.search(lone)
    with pytest.raises(UnicodeEncodeError):
        re2_searcher(rx)(lone)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.hex())))
def test_secret_gates_are_the_wrapper_search(text: str) -> None:
    data = text.encode("ascii", "replace")
    assert secrets._gate_hit(data) == (secrets._GATE.search(data) is not None)
    assert secrets._format_hit(data) == (secrets._FORMAT_TRIGGER.search(data) is not None)


def _payloads() -> list[object]:
    return [i.payload for i in benign_commands()[::5] + benign_actions()[::2] + holdout_attacks()]


def test_memoised_candidates_decide_as_a_fresh_engine() -> None:
    """One engine judges everything twice (its candidate cache warm the second time); each
    decision equals that of a fresh engine whose cache holds only that action."""
    warm = Engine.builtin(home=EXAMPLE_HOME)
    actions = [example_action(p) for p in _payloads()]  # type: ignore[arg-type]
    first = [warm.check(a, EXAMPLE_CONTEXT) for a in actions]
    second = [warm.check(a, EXAMPLE_CONTEXT) for a in actions]
    assert first == second
    for action, decision in list(zip(actions, first, strict=True))[::7]:
        assert Engine.builtin(home=EXAMPLE_HOME).check(action, EXAMPLE_CONTEXT) == decision


def test_path_index_fallback_when_re2_refuses_the_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should RE2 refuse to build the set at first use, the stdlib fallback gives the same ids."""
    indexed = Engine.builtin(home=EXAMPLE_HOME)

    class Refusing:
        def __init__(self) -> None:
            raise RuntimeError("refused")

    monkeypatch.setattr(re2.Set, "FullMatchSet", staticmethod(lambda: Refusing()))
    fallback = Engine.builtin(home=EXAMPLE_HOME)
    for payload in _payloads()[::3]:
        action = example_action(payload)  # type: ignore[arg-type]
        assert fallback.check(action, EXAMPLE_CONTEXT) == indexed.check(action, EXAMPLE_CONTEXT)


def test_path_index_is_built_on_first_use_only() -> None:
    index = PathIndex()
    a, b = index.add("/home/dev/.ssh/id_*"), index.add("**/.env")
    index.compile()
    assert index.ready and index._set is None  # sealed, not built
    assert index.matches("/home/dev/.ssh/id_rsa") == frozenset({a})
    assert index.matches("/srv/app/.env") == frozenset({b})
    assert index._set is not None

