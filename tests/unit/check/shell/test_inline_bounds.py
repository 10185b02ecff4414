"""Limits and robustness of inline-code analysis: sizes, unknown input, hostile text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.check.shell.effects import Effects
from warden.check.shell.inline import LANGUAGES, MAX_INLINE_CODE, analyze_inline

ALL = sorted(LANGUAGES)


def test_unknown_language_is_incomplete() -> None:
    assert analyze_inline("cobol", "DISPLAY 'x'") == Effects(
        markers=(("analysis.incomplete", "unknown language"),)
    )


@pytest.mark.parametrize("language", ALL)
def test_oversized_code_analyses_prefix(language: str) -> None:
    call = {
        "python": "import os; os.system('id')\n",
        "perl": "system('id');\n",
        "node": "require('child_process').execSync('id');\n",
        "ruby": "system('id')\n",
        "php": "system('id');\n",
        "lua": "os.execute('id')\n",
        "awk": 'BEGIN { system("id") }\n',
    }[language]
    code = call + " " * MAX_INLINE_CODE + call.replace("id", "whoami")
    effects = analyze_inline(language, code)
    assert ("analysis.incomplete", "inline code too large") in effects.markers
    assert effects.shell_code == ("id",)


# Hostile shapes: deep nesting, unterminated literals and comments, long runs that make
# backtracking regexes quadratic, doubling assignments, many calls.
_PATHOLOGICAL = [
    "(" * 200_000,
    "[" * 100_000 + "]" * 100_000,
    '"' + "\\" * 500_000,
    "'" + "a" * 1_000_000,
    "/*" * 300_000,
    "#{" * 300_000,
    "$" * 1_000_000,
    "a" * 1_000_000,
    "a=a+a;" * 150_000,
    "system(" * 150_000,
    "eval(" * 150_000,
    "s/" * 300_000,
    "q{" * 300_000,
    "%x(" * 300_000,
    "-" * 999_999 + "1",
    "open(" * 100_000 + ")" * 100_000,
    "x.y" * 300_000,
    "\n".join(f"f{i} = '{i}' + f{i - 1}" for i in range(60_000)),
    "exec(" * 50_000 + "'x'" + ")" * 50_000,
    "/" * 1_000_000,
    "`" * 1_000_000,
    "--[[" * 250_000,
    "print > " * 120_000,
    '"' + "#{`id`}" * 100_000 + '"',
    "`" + "${a.b(c)}" * 100_000 + "`",
    '"' + "@{[ system(1) ]}" * 60_000 + '"',
    '"#{"' * 100_000,
]


@pytest.mark.parametrize("language", ALL)
def test_pathological_megabyte_completes_quickly(language: str) -> None:
    slowest = 0.0
    for text in _PATHOLOGICAL:
        start = time.perf_counter()
        effects = analyze_inline(language, text)
        elapsed = time.perf_counter() - start
        slowest = max(slowest, elapsed)
        assert isinstance(effects, Effects)
        # A hang guard, not a benchmark: typical runs take well under a second.
        assert elapsed < 5.0, (language, text[:20], elapsed)


@settings(max_examples=300, deadline=None)
@given(language=st.sampled_from([*ALL, "nope"]), code=st.text(max_size=400))
def test_arbitrary_text_never_raises(language: str, code: str) -> None:
    assert isinstance(analyze_inline(language, code), Effects)


_ALPHABET = st.sampled_from(
    [
        *"()[]{}'\"`/\\$@%#;,.=+-<>|&:!?~ \n\tqsmxyrwe0123",
        *("system", "exec", "eval", "open", "os.", "require", "fork", "while", "ENV", "getline"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(language=st.sampled_from(ALL), parts=st.lists(_ALPHABET, max_size=200))
def test_syntax_soup_never_raises(language: str, parts: list[str]) -> None:
    assert isinstance(analyze_inline(language, "".join(parts)), Effects)


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("node", 'net.connect("²", "h")'),
        ("python", 'import socket; socket.socket().connect(("h", "²"))'),
        ("python", 'import http.client; http.client.HTTPConnection("h:²")'),
        ("ruby", 'TCPSocket.new("h:١٢")'),
        ("perl", "print ²"),
    ],
)
def test_unicode_digits_are_not_ports(language: str, code: str) -> None:
    """Regression: str.isdigit() accepts '²', which int() rejects."""
    assert isinstance(analyze_inline(language, code), Effects)


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("node", "fetch(,'http://h.example')"),
        ("php", "eval(,);"),
        ("perl", "$x = new (1); print $x"),
        ("ruby", "x = new ; eval(,)"),
        ("php", "curl_setopt($c,,CURLOPT_URL);"),
    ],
)
def test_empty_and_malformed_arguments(language: str, code: str) -> None:
    """Regression (fuzzing): empty argument slices and a bare ``new`` once raised IndexError."""
    assert isinstance(analyze_inline(language, code), Effects)
