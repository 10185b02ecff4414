"""Tests for warden.check.text: invisible characters and confusable folding."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.check.text import (
    find_invisible,
    fold_confusables,
    has_confusables,
    is_ascii_fast,
)

# --- find_invisible --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("r\u200bm -rf /", ((1, "ZERO WIDTH SPACE"),)),
        ("rm\u00a0-rf", ((2, "NO-BREAK SPACE"),)),
        ("a\u202fb\u3000c", ((1, "NARROW NO-BREAK SPACE"), (3, "IDEOGRAPHIC SPACE"))),
        ("\ufeffecho", ((0, "ZERO WIDTH NO-BREAK SPACE"),)),
        ("x\u00ady", ((1, "SOFT HYPHEN"),)),
        ("a\u2060b", ((1, "WORD JOINER"),)),
        ("tag\U000e0041", ((3, "TAG LATIN CAPITAL LETTER A"),)),
        ("\u3164", ((0, "HANGUL FILLER"),)),
        ("echo safe\rrm -rf ~", ((9, "CARRIAGE RETURN"),)),
        ("printf '\x1b[2K'", ((8, "ESCAPE"),)),
        ("a\x08b", ((1, "BACKSPACE"),)),
        ("line1\r\nline2\n\tx", ()),
        ("plain ascii command --flag", ()),
        ("", ()),
        ("naïve café", ()),
    ],
)
def test_find_invisible(text: str, expected: tuple[tuple[int, str], ...]) -> None:
    assert find_invisible(text) == expected


def test_trojan_source_bidi_controls() -> None:
    """CVE-2021-42574: RLO/LRI/PDI reorder display, not parsing."""
    text = 'access_level = "user\u202e \u2066// Check if admin\u2069 \u2066"'
    names = [name for _, name in find_invisible(text)]
    assert names == [
        "RIGHT-TO-LEFT OVERRIDE",
        "LEFT-TO-RIGHT ISOLATE",
        "POP DIRECTIONAL ISOLATE",
        "LEFT-TO-RIGHT ISOLATE",
    ]


def test_emoji_joiners_are_reported() -> None:
    names = {name for _, name in find_invisible("ok \U0001f468\u200d\U0001f4bb \u2764\ufe0f")}
    assert names == {"ZERO WIDTH JOINER", "VARIATION SELECTOR-16"}


# --- fold_confusables ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("\u0441url", "curl"),  # Cyrillic es
        ("\u0440\u0443th\u043en", "python"),  # Cyrillic er, u, o
        ("\uff43\uff55\uff52\uff4c", "curl"),  # fullwidth
        ("\U0001d41c\U0001d42e\U0001d42b\U0001d425", "curl"),  # mathematical bold
        ("\u03bf\u03c1\u0435n", "open"),  # Greek omicron, rho; Cyrillic ie
        ("r\u200bm\u00a0-rf", "rm -rf"),  # invisible dropped, NBSP to space
        ("\ufb01le", "file"),  # ligature expands
        ("\u2474", "(1)"),
        ("\u0405\u0406\u0408", "SIJ"),  # Cyrillic DZE, Byelorussian-Ukrainian I, JE
        ("\u2044etc\u2215passwd", "/etc/passwd"),  # fraction slash, division slash
        ("na\u00efve", "na\u00efve"),  # no ASCII look-alike: kept
        ("\u65e5\u672c", "\u65e5\u672c"),
    ],
)
def test_fold_confusables(text: str, folded: str) -> None:
    assert fold_confusables(text) == folded


def test_has_confusables() -> None:
    assert has_confusables("\u0441url")
    assert has_confusables("\uff43url")
    assert has_confusables("rm\u00a0-rf")
    assert not has_confusables("curl https://example.com")
    assert not has_confusables("na\u00efve caf\u00e9")
    assert not has_confusables("")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fold_is_idempotent(s: str) -> None:
    once = fold_confusables(s)
    assert fold_confusables(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_is_unchanged(s: str) -> None:
    assert fold_confusables(s) is s
    assert not has_confusables(s)
    assert is_ascii_fast(s)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fold_length_bound(s: str) -> None:
    """Documented relation: no fixed length; at most 18 characters out per character in."""
    assert len(fold_confusables(s)) <= 18 * len(s)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_has_confusables_implies_fold_changes(s: str) -> None:
    if has_confusables(s):
        assert fold_confusables(s) != s


# --- speed -----------------------------------------------------------------------------------


def test_ascii_fast_paths(capsys: pytest.CaptureFixture[str]) -> None:
    cmd = (
        "cd /work/project && python -m pytest tests/unit -x -q --tb=short 2>&1 | tail -50 ; "
        "git status --short && ls -la build/ dist/ | grep whl\n"
    )
    results = {}
    for fn in (find_invisible, fold_confusables, has_confusables, is_ascii_fast):
        n = 2000
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                fn(cmd)
            best = min(best, (time.perf_counter() - start) / n)
        results[fn.__name__] = best
    with capsys.disabled():
        print("\n" + ", ".join(f"{k} {v * 1e6:.2f} us" for k, v in results.items()))
    assert all(v < 10e-6 for v in results.values())  # ~1 us; generous for loaded CI machines
