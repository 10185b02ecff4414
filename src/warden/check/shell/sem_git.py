"""git: transfers, history rewriting, destructive working-tree commands and config that runs code.

Global options come first (``-C dir``, ``-c key=value``, ``--git-dir``); paths reported for a
subcommand are joined onto ``-C`` when relative. Config keys whose value git executes
(``core.sshCommand``, ``core.pager``, ``core.fsmonitor``, ``alias.x=!cmd`` ...) become
``shell_code``.
"""

from __future__ import annotations

from collections.abc import Callable

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import (
    ANY_ADDRESS,
    Acc,
    Argv,
    Grammar,
    Handler,
    matches,
    parse,
    port_of,
)

__all__ = ["HANDLERS"]

_GLOBAL_VALUES = frozenset(
    {
        "-C",
        "-c",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--exec-path",
        "--config-env",
        "--super-prefix",
        "--list-cmds",
    }
)
# Config keys whose value git runs through the shell.
_EXEC_KEYS = frozenset(
    {
        "core.sshcommand",
        "core.pager",
        "core.editor",
        "core.fsmonitor",
        "core.askpass",
        "core.hookspath",
        "diff.external",
        "credential.helper",
        "sequence.editor",
        "gpg.program",
        "gpg.ssh.program",
        "core.gitproxy",
        "pager.log",
        "pager.diff",
        "uploadpack.packobjectshook",
        "protocol.ext.allow",
        "merge.tool",
        "diff.tool",
        "filter.lfs.process",
    }
)


class _Ctx:
    """What the global options established: the working directory and ``-c`` overrides (the
    template directory of ``-c init.templateDir=DIR``)."""

    __slots__ = ("acc", "cwd", "template")

    def __init__(self, acc: Acc, cwd: str | None, template: str | None = None) -> None:
        self.acc = acc
        self.cwd = cwd
        self.template = template

    def from_template(self, template: str | None, repo: str) -> None:
        """``clone``/``init`` with a template directory: its files, hooks among them, are
        copied into the new repository's ``.git`` (and ``clone`` runs ``post-checkout`` at
        once): a write of ``REPO/.git/hooks``, taken whole."""
        template = template or self.template
        if template:
            self.acc.read(template)
            self.acc.file(FileOp.WRITE, self.path(repo.rstrip("/") + "/.git/hooks"),
                          recursive=True)  # fmt: skip

    def path(self, raw: str) -> str:
        if self.cwd is None or raw.startswith(("/", "~", "$")):
            return raw
        return self.cwd.rstrip("/") + "/" + raw if raw != "." else self.cwd


def _runs_code(key: str, value: str) -> bool:
    """Whether git runs ``value`` (or a program it names) for the setting ``key``."""
    lowered = key.lower()
    if lowered == "credential.helper" or lowered.endswith(".helper"):
        return True
    if lowered.startswith("alias."):
        return value.startswith("!")
    if lowered in ("core.hookspath", "protocol.ext.allow"):
        return False  # (the hooks directory has rules of its own)
    return lowered in _EXEC_KEYS or (
        lowered.startswith(("filter.", "diff.", "merge."))
        and lowered.endswith((".clean", ".smudge", ".process", ".textconv", ".driver", ".command"))
    )


def _config_pair(acc: Acc, key: str, value: str) -> None:
    """Markers and code for one ``key = value`` config setting."""
    lowered = key.lower()
    if lowered == "core.hookspath":
        acc.mark("git.hooks-path", value)
    elif lowered == "credential.helper" or lowered.endswith(".helper"):
        acc.mark("git.credential-helper", value)
        if value.startswith("!"):
            acc.code(value[1:])
    elif lowered.startswith("alias.") and value.startswith("!"):
        acc.mark("git.config-exec", key)
        acc.code(value[1:])
    elif lowered in _EXEC_KEYS or (
        lowered.startswith(("filter.", "diff.", "merge."))
        and lowered.endswith((".clean", ".smudge", ".process", ".textconv", ".driver", ".command"))
    ):
        acc.mark("git.config-exec", key)
        if lowered != "protocol.ext.allow":
            acc.code(value)


def _remote_target(operands: list[str]) -> str:
    return operands[0] if operands else "origin"


_CLONE_OPTS = Grammar(
    "-b -o -u -j -c --branch --origin --upload-pack --jobs --config"
    " --depth --template --reference --separate-git-dir --filter"
    " --shallow-since --shallow-exclude --server-option"
)


def _clone(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(
        args,
        _CLONE_OPTS,
    )
    acc = ctx.acc
    for pair in parsed.values("-c", "--config"):
        key, _, value = pair.partition("=")
        _config_pair(acc, key, value)
    for command in parsed.values("-u", "--upload-pack"):
        acc.code(command)
        acc.mark("git.config-exec", "--upload-pack")
    if not parsed.operands:
        ctx.from_template(parsed.value("--template"), ".")
        return
    url = parsed.operands[0]
    if not url.startswith("ext::"):  # (an ext:: URL: _ext_transport)
        acc.link(NetDirection.FETCH, url)
    leaf = url.rstrip("/").rpartition("/")[2].rpartition(":")[2].removesuffix(".git") or "repo"
    dest = parsed.operands[1] if len(parsed.operands) > 1 else leaf
    acc.file(FileOp.WRITE, ctx.path(dest), recursive=True)
    ctx.from_template(parsed.value("--template"), dest)


_INIT_OPTS = Grammar("-b -c --initial-branch --template --separate-git-dir --object-format"
                     " --ref-format --shared")  # fmt: skip


def _init(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _INIT_OPTS)
    ctx.from_template(parsed.value("--template"), parsed.operands[0] if parsed.operands else ".")


def _ext_transport(acc: Acc, words: Argv) -> None:
    """An ``ext::CMD`` URL, wherever a remote is named (clone, fetch, ls-remote, push,
    ``submodule add``, ``remote add``): git runs CMD to talk to the "remote" (``%`` escapes a
    space, ``%%`` is a percent sign)."""
    for word in words:
        url = word.partition("=")[2] if word.startswith("--") else word
        if url.startswith("ext::"):
            acc.mark("git.ext-transport", url)
            acc.run(_ext_argv(url[5:]))


def _ext_argv(text: str) -> list[str]:
    """The command of an ``ext::`` URL: words split at spaces, ``% `` a space within a word,
    ``%%`` a percent sign (git-remote-ext(1)); linear."""
    words: list[str] = []
    word: list[str] = []
    k, n = 0, len(text)
    while k < n:
        c = text[k]
        if c == "%" and k + 1 < n and text[k + 1] in " %":
            word.append(text[k + 1])
            k += 2
            continue
        if c == " ":
            if word:
                words.append("".join(word))
            word = []
        else:
            word.append(c)
        k += 1
    if word:
        words.append("".join(word))
    return words


def _foreach(ctx: _Ctx, args: Argv) -> None:
    """``git submodule foreach [--recursive] CMD...``: CMD runs in each submodule, through the
    shell (its words joined, as git does)."""
    words = [w for w in args if w not in ("--recursive", "-q", "--quiet")]
    if words:
        ctx.acc.code(" ".join(words))


_FETCH_OPTS = Grammar(
    "-j --depth --jobs --upload-pack --refmap -o --server-option --shallow-since -s --strategy -X"
)


def _fetch(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(
        args,
        _FETCH_OPTS,
    )
    ctx.acc.link(NetDirection.FETCH, _remote_target(parsed.operands))
    for command in parsed.values("--upload-pack"):
        ctx.acc.code(command)
        ctx.acc.mark("git.config-exec", "--upload-pack")


def _pull(ctx: _Ctx, args: Argv) -> None:
    _fetch(ctx, args)
    ctx.acc.file(FileOp.WRITE, ctx.path("."), recursive=True)
    if "--no-verify" in args:
        ctx.acc.mark("git.no-verify")


_FORCE_FLAGS = (
    "-f",
    "--force",
    "--force-with-lease",
    "--force-if-includes",
    "--mirror",
    "--delete",
    "-d",
    "--prune",
)


_PUSH_OPTS = Grammar("--receive-pack --exec --repo -o --push-option --recurse-submodules")


def _push(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _PUSH_OPTS)
    acc = ctx.acc
    operands = parsed.operands
    acc.link(NetDirection.UPLOAD, parsed.value("--repo") or _remote_target(operands))
    for opt, value in parsed.opts:
        if matches(opt, *_FORCE_FLAGS):
            acc.mark("git.force-push", opt if value is None else f"{opt}={value}")
        elif opt in ("--receive-pack", "--exec") and value is not None:
            acc.code(value)
            acc.mark("git.config-exec", opt)
        elif matches(opt, "--no-verify"):
            acc.mark("git.no-verify")
    for refspec in operands[1:]:
        if refspec.startswith(("+", ":")):
            acc.mark("git.force-push", refspec)


_REMOTE_OPTS = Grammar("-t -m --track --master --push")


def _remote(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _REMOTE_OPTS)
    words = parsed.operands
    if len(words) >= 3 and words[0] in ("add", "set-url"):
        ctx.acc.mark("git.remote-add", words[-1])


_CONFIG_OPTS = Grammar("-f --file --blob --type --default --comment --value")


def _config(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _CONFIG_OPTS)
    acc = ctx.acc
    words = parsed.operands
    if words and words[0] in ("set", "unset", "get", "list", "edit", "rename-section"):
        verb, words = words[0], words[1:]
    else:
        verb = "set" if len(words) >= 2 or parsed.has("--add", "--replace-all") else "get"
    if parsed.has("--unset", "--unset-all", "--remove-section", "-e", "--edit"):
        verb = "set"
    if verb != "set":
        return
    if len(words) >= 2:
        _config_pair(acc, words[0], words[1])
        if _runs_code(words[0], words[1]):
            # kept: run by the user's own later git commands, outside any check (`git -c` is
            # for this command only, and its code is judged as run now)
            acc.mark("git.config-persist-exec", f"{words[0].lower()}={words[1]}")
    if parsed.has("--global"):
        acc.write("~/.gitconfig")
    elif parsed.has("--system"):
        acc.write("/etc/gitconfig")
    elif parsed.value("-f", "--file"):
        acc.write(parsed.value("-f", "--file"))
    else:
        acc.write(ctx.path(".git/config"))


def _rewrite(detail: str) -> Callable[[_Ctx, Argv], None]:
    def handle(ctx: _Ctx, args: Argv) -> None:
        ctx.acc.mark("git.history-rewrite", detail)

    return handle


def _rebase(ctx: _Ctx, args: Argv) -> None:
    if "--root" in args:
        ctx.acc.mark("git.history-rewrite", "rebase --root")
    if "--no-verify" in args:
        ctx.acc.mark("git.no-verify")
    for index, word in enumerate(args):
        if word in ("-x", "--exec") and index + 1 < len(args):
            ctx.acc.code(args[index + 1])
        elif word.startswith("--exec="):
            ctx.acc.code(word.partition("=")[2])


def _reflog(ctx: _Ctx, args: Argv) -> None:
    if args[:1] in (("expire",), ("delete",)):
        ctx.acc.mark("git.history-rewrite", f"reflog {args[0]}")


def _gc(ctx: _Ctx, args: Argv) -> None:
    if any(a.startswith("--prune=") and a.partition("=")[2] in ("now", "all") for a in args):
        ctx.acc.mark("git.history-rewrite", "gc --prune")


def _reset(ctx: _Ctx, args: Argv) -> None:
    if "--hard" in args:
        ctx.acc.mark("git.reset-hard")
        ctx.acc.file(FileOp.WRITE, ctx.path("."), recursive=True)


_CLEAN_OPTS = Grammar("-e --exclude")


def _clean(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _CLEAN_OPTS)
    flags = {"f": ("-f", "--force"), "x": ("-x",), "X": ("-X",), "d": ("-d",)}
    letters = sorted(letter for letter, names in flags.items() if parsed.has(*names))
    if "f" not in letters or parsed.has("-n", "--dry-run"):
        return
    if {"x", "X", "d"} & set(letters):
        ctx.acc.mark("git.clean", "-" + "".join(letters))
    targets = parsed.operands or ["."]
    for target in targets:
        ctx.acc.file(FileOp.DELETE, ctx.path(target), recursive=True)


def _checkout(ctx: _Ctx, args: Argv) -> None:
    words = list(args)
    paths = words[words.index("--") + 1 :] if "--" in words else [w for w in words if w == "."]
    if not paths and ("-f" in words or "--force" in words):
        paths = ["."]
    if paths:
        ctx.acc.mark("git.discard-changes", " ".join(paths))
        for path in paths:
            ctx.acc.file(FileOp.WRITE, ctx.path(path), recursive=path == ".")


_RESTORE_OPTS = Grammar("-s --source --pathspec-from-file")


def _restore(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _RESTORE_OPTS)
    if parsed.has("--staged") and not parsed.has("-W", "--worktree"):
        return
    paths = parsed.operands
    if paths:
        ctx.acc.mark("git.discard-changes", " ".join(paths))
        for path in paths:
            ctx.acc.file(FileOp.WRITE, ctx.path(path), recursive=path == ".")


_COMMIT_OPTS = Grammar(
    "-m -F -C -c -t --message --file --template --author --date"
    " --fixup --squash --reuse-message --reedit-message --trailer"
)


def _commit(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(
        args,
        _COMMIT_OPTS,
    )
    if parsed.has("-n", "--no-verify"):
        ctx.acc.mark("git.no-verify")
    acc = ctx.acc
    acc.read(*[ctx.path(f) for f in parsed.values("-F", "--file", "-t", "--template") if f != "-"])


def _no_verify(ctx: _Ctx, args: Argv) -> None:
    if "--no-verify" in args:
        ctx.acc.mark("git.no-verify")


def _apply(ctx: _Ctx, args: Argv) -> None:
    patches = [w for w in args if not w.startswith("-")]
    ctx.acc.files_of(FileOp.READ, [ctx.path(p) for p in patches])
    if "--check" not in args and "--stat" not in args:
        ctx.acc.file(FileOp.WRITE, ctx.path("."), recursive=True)


def _submodule(ctx: _Ctx, args: Argv) -> None:
    if "foreach" in args:
        _foreach(ctx, args[args.index("foreach") + 1 :])
        return
    words = [w for w in args if not w.startswith("-")]
    if words[:1] == ["add"] and len(words) > 1:
        ctx.acc.link(NetDirection.FETCH, words[1])
    elif words[:1] in (["update"], ["sync"]):
        ctx.acc.link(NetDirection.FETCH, "origin")


def _ls_remote(ctx: _Ctx, args: Argv) -> None:
    words = [w for w in args if not w.startswith("-")]
    ctx.acc.link(NetDirection.FETCH, _remote_target(words))


_ARCHIVE_OPTS = Grammar("-o --output --format --prefix --remote --exec")


def _archive(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _ARCHIVE_OPTS)
    ctx.acc.write(*[ctx.path(o) for o in parsed.values("-o", "--output")])
    remote = parsed.value("--remote")
    if remote:
        ctx.acc.link(NetDirection.FETCH, remote)
    for command in parsed.values("--exec"):
        ctx.acc.code(command)


def _hash_object(ctx: _Ctx, args: Argv) -> None:
    """``git hash-object [-w] FILE...`` reads the files (``-w`` copies them into the object
    store, from where a push or a bundle carries them); ``--stdin-paths`` reads the files named
    on stdin (``find ~/.ssh -type f | git hash-object -w --stdin-paths``)."""
    words = [w for w in args if not w.startswith("-")]
    ctx.acc.files_of(FileOp.READ, [ctx.path(w) for w in words])
    ctx.acc.names_on_stdin = "--stdin-paths" in args


def _diff(ctx: _Ctx, args: Argv) -> None:
    """``git diff --no-index A B`` compares two files outside any repository: it reads (and
    prints) both, as ``diff A B`` does (``git diff --no-index ~/.ssh/id_rsa /dev/null``)."""
    if "--no-index" in args:
        words = [w for w in args if not w.startswith("-")]
        ctx.acc.files_of(FileOp.READ, [ctx.path(w) for w in words])
    _output(ctx, args)


def _output(ctx: _Ctx, args: Argv) -> None:
    """``--output FILE`` of the commands that show commits and diffs (log, show, diff...)
    writes FILE; ``format-patch -o DIR`` writes patch files in DIR."""
    for k, word in enumerate(args):
        if word.startswith("--output="):
            ctx.acc.write(ctx.path(word.partition("=")[2]))
        elif word == "--output" and k + 1 < len(args):
            ctx.acc.write(ctx.path(args[k + 1]))


def _format_patch(ctx: _Ctx, args: Argv) -> None:
    _output(ctx, args)
    for k, word in enumerate(args):
        if word.startswith("--output-directory="):
            ctx.acc.file(FileOp.WRITE, ctx.path(word.partition("=")[2]), recursive=True)
        elif word in ("-o", "--output-directory") and k + 1 < len(args):
            ctx.acc.file(FileOp.WRITE, ctx.path(args[k + 1]), recursive=True)


def _bisect(ctx: _Ctx, args: Argv) -> None:
    """``git bisect run CMD ARGS...`` runs CMD at each step."""
    if args[:1] == ("run",) and len(args) > 1:
        ctx.acc.run(args[1:])


_DIFFTOOL_OPTS = Grammar("-x -t --extcmd --tool")


def _difftool(ctx: _Ctx, args: Argv) -> None:
    """``git difftool -x CMD`` / ``--extcmd=CMD`` runs CMD (through the shell) on each pair."""
    for command in parse(args, _DIFFTOOL_OPTS).values("-x", "--extcmd"):
        ctx.acc.code(command)
        ctx.acc.mark("git.config-exec", "--extcmd")


def _grep(ctx: _Ctx, args: Argv) -> None:
    """``git grep -O[CMD]`` / ``--open-files-in-pager[=CMD]`` opens the matches with CMD."""
    for word in args:
        if word.startswith("--open-files-in-pager="):
            ctx.acc.code(word.partition("=")[2])
        elif word.startswith("-O") and len(word) > 2 and not word.startswith("--"):
            ctx.acc.code(word[2:])


_SEND_EMAIL_OPTS = Grammar("--to --cc --bcc --from --smtp-server --smtp-server-port")


def _send_email(ctx: _Ctx, args: Argv) -> None:
    parsed = parse(args, _SEND_EMAIL_OPTS)
    ctx.acc.files_of(FileOp.READ, [ctx.path(p) for p in parsed.operands])
    ctx.acc.link(NetDirection.UPLOAD, parsed.value("--smtp-server") or "smtp")


def _daemon(ctx: _Ctx, args: Argv) -> None:
    port = next((a.partition("=")[2] for a in args if a.startswith("--port=")), "9418")
    ctx.acc.mark("net.listen", port)
    ctx.acc.link(NetDirection.LISTEN, ANY_ADDRESS, port_of(port))


#: Where ``git credential-store`` keeps what it stores when no ``--file`` is given.
_CREDENTIAL_STORE_FILES = ("~/.git-credentials", "~/.config/git/credentials")


def _credential(ctx: _Ctx, args: Argv) -> None:
    """``git credential fill`` asks the configured helpers for a stored password and prints it
    (``printf 'host=github.com\\n' | git credential fill``): a credential read, as reading
    ``~/.git-credentials`` is. ``approve``/``reject`` store or erase and read nothing."""
    if "fill" in args:
        ctx.acc.mark("git.credential-read", "fill")


def _credential_helper(sub: str, ctx: _Ctx, args: Argv) -> None:
    """``git credential-store get``, ``credential-cache get``, ``credential-libsecret get``...:
    a helper's ``get`` prints the password it keeps; ``credential-store`` reads its file
    (``--file F``, by default ``~/.git-credentials`` and the XDG one)."""
    if "get" not in args:
        return
    ctx.acc.mark("git.credential-read", sub)
    if sub == "credential-store":
        files = [a.partition("=")[2] for a in args if a.startswith("--file=")]
        files += [args[k + 1] for k, a in enumerate(args[:-1]) if a == "--file"]
        ctx.acc.files_of(FileOp.READ, [ctx.path(f) for f in files] or _CREDENTIAL_STORE_FILES)


_SUBCOMMANDS: dict[str, Callable[[_Ctx, Argv], None]] = {
    "clone": _clone,
    "fetch": _fetch,
    "pull": _pull,
    "push": _push,
    "remote": _remote,
    "config": _config,
    "filter-branch": _rewrite("filter-branch"),
    "filter-repo": _rewrite("filter-repo"),
    "rebase": _rebase,
    "reflog": _reflog,
    "gc": _gc,
    "reset": _reset,
    "clean": _clean,
    "checkout": _checkout,
    "restore": _restore,
    "commit": _commit,
    "merge": _no_verify,
    "am": _no_verify,
    "apply": _apply,
    "submodule": _submodule,
    "ls-remote": _ls_remote,
    "archive": _archive,
    "hash-object": _hash_object,
    "diff": _diff,
    "log": _output,
    "show": _output,
    "whatchanged": _output,
    "range-diff": _output,
    "diff-tree": _output,
    "diff-index": _output,
    "diff-files": _output,
    "format-patch": _format_patch,
    "bisect": _bisect,
    "difftool": _difftool,
    "grep": _grep,
    "init": _init,
    "send-email": _send_email,
    "daemon": _daemon,
    "credential": _credential,
}


def _git(name: str, args: Argv) -> Effects:
    acc = Acc()
    cwd: str | None = None
    template: str | None = None
    i, n = 0, len(args)
    while i < n and args[i].startswith("-"):
        word = args[i]
        i += 1
        key, eq, value = word.partition("=")
        if not eq and word in _GLOBAL_VALUES:
            value = args[i] if i < n else ""
            key = word
            i += 1
        if key == "-C":
            cwd = value if cwd is None or value.startswith("/") else f"{cwd}/{value}"
        elif key == "-c":
            config_key, _, config_value = value.partition("=")
            _config_pair(acc, config_key, config_value)
            if config_key.lower() == "init.templatedir":
                template = config_value
        elif key in ("--git-dir", "--work-tree") and cwd is None:
            cwd = value if key == "--work-tree" else cwd
    if i >= n:
        return acc.build()
    sub, rest = args[i], args[i + 1 :]
    handler = _SUBCOMMANDS.get(sub)
    if handler is not None:
        handler(_Ctx(acc, cwd, template), rest)
    elif sub.startswith("credential-"):
        _credential_helper(sub, _Ctx(acc, cwd), rest)
    if sub in _REMOTE_SUBCOMMANDS:
        _ext_transport(acc, rest)
    return acc.build()


#: Subcommands that take a remote's URL (an ``ext::`` one runs a command).
_REMOTE_SUBCOMMANDS = frozenset({"clone", "fetch", "pull", "push", "ls-remote", "submodule",
                                 "remote", "archive"})  # fmt: skip


#: git's credential helpers are programs too (``/usr/lib/git-core/git-credential-store get``).
_HELPER_PROGRAMS = (
    "git-credential-store", "git-credential-cache", "git-credential-libsecret",
    "git-credential-osxkeychain", "git-credential-manager", "git-credential-manager-core",
    "git-credential-gnome-keyring", "git-credential-netrc", "git-credential-wincred",
)  # fmt: skip


def _helper_program(name: str, args: Argv) -> Effects:
    """A credential helper run by its own name: as ``git credential-NAME``."""
    acc = Acc()
    _credential_helper(name.removeprefix("git-"), _Ctx(acc, None), args)
    return acc.build()


HANDLERS: dict[str, Handler] = {"git": _git, **dict.fromkeys(_HELPER_PROGRAMS, _helper_program)}
