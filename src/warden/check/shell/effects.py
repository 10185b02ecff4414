"""What one program invocation does, judged from its name and argv alone.

The shell walker (``walker.py``) handles syntax: pipelines, redirections, substitutions, quoting.
For each simple command it asks :func:`warden.check.shell.semantics.effects_of` what that program
does with its arguments, and gets an :class:`Effects` back. Effects hold *raw* paths and URLs as
written; the walker normalises paths and hosts and turns effects into
:class:`~warden.check.facts.Facts`.
"""

from __future__ import annotations

import msgspec

from warden.check.facts import FileOp, NetDirection

__all__ = ["Effects", "FileRef", "NetRef"]


class FileRef(msgspec.Struct, frozen=True):
    """A file a program touches, as written in argv (not yet normalised)."""

    op: FileOp
    raw: str
    recursive: bool = False
    #: For a copy into ``raw`` that may be a directory (``cp -r SRC DEST``): the name the copy
    #: takes inside it, when it is one (``run._apply_effects`` looks on disk).
    into: str = ""


class NetRef(msgspec.Struct, frozen=True):
    """A network destination as written: a URL, ``host``, ``host:port`` or ``user@host:path``."""

    direction: NetDirection
    target: str
    port: int | None = None


class Effects(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a program does with its arguments, as far as argv tells.

    - ``nested``: argv vectors this program runs (``sudo X``, ``env A=1 X``, ``xargs X``,
      ``find -exec X {} ;``, ``timeout 5 X``, ``nohup X``); the walker analyses each in turn.
    - ``shell_code``: shell text this program runs (``sh -c TEXT``, ``eval TEXT``,
      ``ssh host TEXT``, ``su -c TEXT``, ``watch TEXT``); the walker parses it recursively.
    - ``inline_code``: ``(language, code)`` for interpreter one-liners (``python -c``,
      ``perl -e``, ``node -e``, ``ruby -e``, ``php -r``).
    - ``stdin_is_code``: the program executes what arrives on stdin (``sh``, ``bash -s``,
      ``python -``, ``python`` with no script).
    - ``outputs_network``: what it writes to stdout came from the network (``curl URL``).
    - ``outputs_decoded``: stdout is decoded data (``base64 -d``, ``xxd -r``, ``openssl enc -d``).
    - ``shell_args``: the positional parameters of the first ``shell_code`` (``sh -c CODE NAME
      ARG...``: ``$0`` is NAME, ``$1`` the first ARG).
    - ``names_on_stdin``: the program reads the files named on its stdin (``cpio -o``,
      ``tar -T -``, ``zip -@``, ``rsync --files-from=-``): ``find ~/.ssh | cpio -o`` reads the
      keys.
    - ``names_files``: files the program reads file names from, and then reads those files
      (``tar -T LIST``, ``rsync --files-from=LIST``, ``7z a x @LIST``); when LIST is a
      process substitution the walker knows (``tar -T <(find ~/.ssh)``) the names are followed.
    - ``args_files``: files a wrapper takes the arguments of the command it runs from, instead
      of stdin (``xargs -a LIST``, ``parallel -a LIST``, ``parallel CMD :::: LIST``).
    - ``args_delimiter``: how a wrapper splits its stdin into arguments (``xargs -0``: NUL,
      ``xargs -d,``: the comma; empty: at blanks, as plain ``xargs``).
    - ``markers``: ``(name, detail)`` observations, e.g. ``("detach.nohup", "")``,
      ``("privilege.sudo", "")``, ``("net.listen", "4444")``.
    """

    files: tuple[FileRef, ...] = ()
    net: tuple[NetRef, ...] = ()
    nested: tuple[tuple[str, ...], ...] = ()
    shell_code: tuple[str, ...] = ()
    shell_args: tuple[str, ...] = ()
    inline_code: tuple[tuple[str, str], ...] = ()
    env_set: tuple[tuple[str, str], ...] = ()
    markers: tuple[tuple[str, str], ...] = ()
    stdin_is_code: bool = False
    outputs_network: bool = False
    outputs_decoded: bool = False
    names_on_stdin: bool = False
    names_files: tuple[str, ...] = ()
    args_files: tuple[str, ...] = ()
    args_delimiter: str = ""
    privileged: bool = False
    detached: bool = False
    remote: bool = False  # nested/shell_code runs on another machine (ssh)
