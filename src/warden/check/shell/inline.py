"""What an interpreter one-liner does: ``python -c``, ``perl -e``, ``node -e``, ``ruby -e``, ...

The shell walker hands inline code (``Effects.inline_code``) to :func:`analyze_inline` and gets
:class:`~warden.check.shell.effects.Effects` back, exactly as if a program had been described by
its argv: files touched, hosts contacted, programs run (``nested`` argv or ``shell_code`` the
walker parses again), environment set, and markers.

Python is parsed with :mod:`ast` (``inline_python`` walks, ``inline_pyscope`` resolves aliases and
string values, ``inline_pyrules`` says what each callee does); the other languages, and Python
that does not parse, are tokenised (``inline_lex``) and their call sites matched against
per-language tables (``inline_scanbase``, ``inline_scan``, ``inline_rules``). Everything writes
into one :class:`~.inline_sink.Sink`. Nothing is executed, and every pattern is linear-time.
What the analysis cannot follow becomes a marker, never silence:

- ``("analysis.incomplete", why)``: code too large, a syntax error, an unknown language.
- ``("inline.dynamic-exec", what)``: code, a command or a module name computed at run time.
- ``("inline.dynamic-path", "op callee")`` / ``("inline.dynamic-host", "direction callee")``:
  a file or network call whose target is not a literal.
- ``("obfuscation.decoded-exec", codec)``: decoded data fed to ``exec``/``eval``; a literal
  payload is decoded and analysed recursively up to :data:`MAX_DECODE_DEPTH`.
- ``("net.socket-to-shell", "")``, ``("net.listen", port)``, ``("env.read", NAME)``,
  ``("resource.fork-bomb", "")``.

Paths are reported as written, with ``~`` or ``$HOME`` prefixes kept (``os.path.expanduser``,
``os.environ['HOME'] + ...``, ``process.env.HOME``) so the walker's normaliser can expand them.
A part computed at run time inside an otherwise literal path or shell text is written as
:data:`UNKNOWN_PATH_PART` (a glob star) or :data:`UNKNOWN_SHELL_PART` (a variable expansion)
and accompanied by a dynamic marker.

Known blind spots (by design; each leaves a marker or is listed here):

- Flow-insensitive: a name assigned more than once has no value; branches are not followed.
- The token scanner does not follow function aliases (``const f = fs.readFileSync; f(p)``,
  ``{readFileSync: r} = require('fs')``); ``require``/``import`` of a computed name is marked.
- Code reached only through run-time data (``exec(input())``, commands read from a socket) is
  ``inline.dynamic-exec``; whether that socket feeds a shell is a heuristic (socket made, shell or
  dynamic command run, a wiring idiom such as ``dup2``/``>&S``/``.pipe(``/``reopen`` present).
- Perl/Ruby here-documents, Perl formats and prototypes, Ruby ``send(:system, ...)`` (marked
  dynamic), and macro-like metaprogramming are not modelled.
"""

from __future__ import annotations

from warden.check.shell.effects import Effects
from warden.check.shell.inline_python import analyze_python
from warden.check.shell.inline_scan import analyze_scanned
from warden.check.shell.inline_sink import (
    MAX_DECODE_DEPTH,
    MAX_INLINE_CODE,
    UNKNOWN_PATH_PART,
    UNKNOWN_SHELL_PART,
    Sink,
)

__all__ = [
    "LANGUAGES",
    "MAX_DECODE_DEPTH",
    "MAX_INLINE_CODE",
    "UNKNOWN_PATH_PART",
    "UNKNOWN_SHELL_PART",
    "analyze_inline",
]

LANGUAGES = frozenset({"python", "perl", "node", "ruby", "php", "lua", "awk"})


def analyze_inline(language: str, code: str) -> Effects:
    """Describe what ``code`` written in ``language`` would do, without running it.

    ``language`` is one of :data:`LANGUAGES`; any other value yields only an
    ``("analysis.incomplete", "unknown language")`` marker. Never raises on any text.
    """
    sink = Sink()
    analyze_into(sink, language, code, depth=0)
    return sink.effects()


def analyze_into(sink: Sink, language: str, code: str, *, depth: int) -> None:
    """Analyse ``code`` into ``sink``; ``depth`` counts decoded-payload recursion."""
    if language not in LANGUAGES:
        sink.marker("analysis.incomplete", "unknown language")
        return
    if len(code) > MAX_INLINE_CODE:
        code = code[:MAX_INLINE_CODE]
        sink.marker("analysis.incomplete", "inline code too large")
    try:
        if language == "python":
            analyze_python(sink, code, depth=depth, recurse=analyze_into)
        else:
            analyze_scanned(sink, language, code, depth=depth, recurse=analyze_into)
    except (RecursionError, MemoryError):
        # Pathologically nested input: what was found so far stands, the rest is unknown.
        sink.marker("analysis.incomplete", f"{language} code too deeply nested")
