"""The shell code in a makefile's text, for makefiles the analysis knows the text of.

``make --eval=TEXT`` (``-E TEXT``), ``make -f /dev/stdin`` with a known stdin and ``make -f
<(...)`` or a makefile the command itself wrote run TEXT's recipes: each is a line of shell
code (``all:; cat FILE`` or a tab-indented line), and ``$(shell CMD)`` runs CMD while the
makefile is read. Not a makefile parser: the lines that would run, as shell code, with make's
``$$`` (a literal ``$``) undone; make's own variables stay ``$(NAME)``, which the walker takes
for a command substitution it cannot know. Conservative by design: a recipe of a target that
is never built is walked too.
"""

from __future__ import annotations

import re

__all__ = ["MAKES", "SHELL_ASSIGNMENT", "makefile_code"]

#: The programs that read makefiles (``just`` reads a justfile, another syntax).
MAKES = frozenset({"make", "gmake"})

#: ``$(shell CMD)`` / ``${shell CMD}``: from the first call on a line to the line's last
#: closing bracket (a nested ``$(X)`` keeps its bracket, a second call is inside the text; junk
#: after it only makes the code stranger, never hidden). Found with two scans, not a regular
#: expression that runs to the end of the line from every ``$(shell`` (quadratic: 32,000 of
#: them without a bracket took 90 s).
_SHELL_START = re.compile(r"\$[({]shell\s")
#: Recipe prefixes make strips before running a line: ``@`` (silent), ``-`` (ignore errors),
#: ``+`` (run even under ``-n``).
_PREFIXES = "@-+ \t"


#: ``.RECIPEPREFIX = X``: from there on, recipe lines start with X instead of a tab (GNU make
#: 3.82+); an empty value restores the tab.
_RECIPEPREFIX = re.compile(r"\s*(?:override\s+)?\.RECIPEPREFIX\s*[:?+!]?=\s*(.*)")
#: ``SHELL = PROGRAM`` (a makefile's own, or ``make SHELL=...``): every recipe runs as
#: ``PROGRAM -c RECIPE``, so PROGRAM runs, with the words the value holds.
SHELL_ASSIGNMENT = re.compile(r"\s*(?:override\s+|export\s+)*SHELL\s*[:?+!]?=\s*(.*)")


def makefile_code(text: str) -> str:
    """The recipe lines, ``$(shell ...)`` commands and ``SHELL`` programs of ``text``, one
    shell line each."""
    out: list[str] = []
    prefix = "\t"
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith(prefix):
            out.append(line[1:].lstrip(_PREFIXES))
        elif (found := _RECIPEPREFIX.match(line)) is not None:
            prefix = found.group(1)[:1] or "\t"
        elif (found := SHELL_ASSIGNMENT.match(line)) is not None:
            out.append(found.group(1))
        elif not line.lstrip().startswith("#"):
            head, semi, recipe = line.partition(";")
            if semi and ":" in head:  # `target: prerequisites; recipe`
                out.append(recipe.lstrip(_PREFIXES))
        end = max(line.rfind(")"), line.rfind("}"))
        if end > 0 and (call := _SHELL_START.search(line, 0, end)) is not None:
            out.append(line[call.end() : end])
    return "\n".join(out).replace("$$", "$")
