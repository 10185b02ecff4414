"""Commands with verbs (``warden audit verify``, ``warden rules list``), built one way.

Every verb shows the group's examples in its ``--help``; the group on its own prints its help
and exits 2 (invalid usage), rather than an argparse error line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["CommandGroup"]

Handler = Callable[[argparse.Namespace], int]


class CommandGroup:
    """``warden NAME VERB ...``: the group's parser and a way to add verbs to it."""

    def __init__(
        self, sub: Any, name: str, summary: str, *, description: str | None = None,
        epilog: str = "",
    ) -> None:  # fmt: skip
        self.epilog = epilog
        self.parser: argparse.ArgumentParser = sub.add_parser(
            name, help=summary, description=description or summary, epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        self._verbs = self.parser.add_subparsers(dest="verb", metavar="VERB")
        self.parser.set_defaults(func=self._usage)

    def _usage(self, _: argparse.Namespace) -> int:
        self.parser.print_help()
        return 2

    def verb(self, name: str, help_: str, func: Handler) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._verbs.add_parser(
            name, help=help_, description=help_, epilog=self.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        parser.set_defaults(func=func)
        return parser
