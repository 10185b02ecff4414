"""Call scanning over tokens: the analysis for every inline language except parsable Python.

The scanner walks the tokens of :func:`~.inline_lex.tokenize` once. At each call site
(a callee chain such as ``fs.readFileSync``, ``IO::Socket::INET->new`` or ``os.execute``,
followed by parenthesised arguments or, where the language allows, a bare argument list) it
looks the callee up in the language's :class:`~.inline_rules.Rule` table and applies the rule's
action to the arguments. Arguments are evaluated as concatenations of literals; single
assignments (``my $h = "10.0.0.1";``) are followed; everything else is unknown.

Limits of the approach are reported, not hidden: computed commands and code become
``inline.dynamic-exec``; aliasing this scanner does not follow (``const f = fs.readFileSync``)
simply goes unseen, which is why the rule tables also match on method names alone where a name is
distinctive enough.
"""

from __future__ import annotations

import re

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.inline_lex import Tok, tokenize
from warden.check.shell.inline_rules import LANGS, Rule
from warden.check.shell.inline_scanbase import (
    MAX_CALLS,
    NO_ARGS,
    Args,
    ScanBase,
    int_,
    is_kwarg,
    is_list,
    match_in,
    modes,
    pairs,
    split,
)
from warden.check.shell.inline_sink import MAX_DECODE_DEPTH, UNKNOWN, Recurse, Sink, as_text

__all__ = ["analyze_scanned"]

_UPLOAD_WORDS = frozenset({"POST", "PUT", "PATCH", "DELETE", "post", "put", "patch"})
_BODY_KEYS = frozenset({"body", "data", "json", "form", "files", "Content"})
_FD_DUP = re.compile(r"[<>]&\s{0,4}[0-9$]")
_WRITE = "write"
_WORDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
_SOCKET_READS = ("receive", "gets", "recv", "on('data'", 'on("data"', "getline", "readline")


def analyze_scanned(sink: Sink, language: str, code: str, *, depth: int, recurse: Recurse) -> None:
    """Analyse ``code`` written in ``language`` (not Python that parses) into ``sink``."""
    lang = LANGS[language]
    _Scanner(sink, lang, code, tokenize(code, language), depth, recurse).run()



#: fopen's modes as open's (IO::File->new's second argument may be either).
_FOPEN_MODES = {"r": "<", "w": ">", "a": ">>", "r+": "+<", "w+": "+>", "a+": "+>>"}

class _Scanner(ScanBase):
    """The driver loop, the ``do_*`` actions named by rules, and idioms that are not calls."""

    # -- driver ---------------------------------------------------------------------------------
    def run(self) -> None:
        toks = self.toks
        self.collect_assignments()
        words, follow = self._words()
        i = 0
        n = len(toks)
        while i < n:
            tok = toks[i]
            if tok.kind == "cmd":
                self.shell_text(tok.text, f"{self.lang.name} backticks")
                i += 1
            elif tok.kind == "interp":
                if self.depth < MAX_DECODE_DEPTH:
                    self.recurse(self.sink, self.lang.name, tok.text, depth=self.depth + 1)
                i += 1
            elif tok.kind == "code":
                self.eval_code(tok.text, f"{self.lang.name} s///e", None)
                i += 1
            elif (
                tok.text == "$" and self.lang.name == "node"
                and i + 1 < n and toks[i + 1].kind == "str"
            ):  # fmt: skip
                # a tagged template: Bun's and zx's shell (`Bun.$\`cat F\``, `$\`ls\``)
                self.shell_text(toks[i + 1].text, "node $`...`")
                i += 2
            elif tok.kind == "id":
                nxt = toks[i + 1].text if i + 1 < n else ""
                if tok.text in words or (
                    nxt in follow and (nxt != "(" or tok.text.startswith("$"))
                ):
                    i = self.at_chain(i)
                else:
                    i += 1  # a lone name no rule, idiom or variable call can start with
            elif tok.kind == "str":
                self.at_string(i)
                i += 1
            else:
                i += 1
        self.post_checks()

    def _words(self) -> tuple[frozenset[str], frozenset[str]]:
        """Names that can start something of interest, and tokens after which any name can."""
        cached = _WORDS.get(self.lang.name)
        if cached is None:
            lang = self.lang
            names = {"new", "require", "__import__", "getline", "ENV"}
            for key in (*lang.rules, *lang.value_funcs, *lang.env_containers, *lang.home_exprs):
                names.update(key.replace("*.", "").split("."))
            follow = set(lang.member_ops) | {"["}
            if lang.name in ("php", "perl"):
                follow.add("(")  # $f(...): a callee held in a variable
            cached = (frozenset(names), frozenset(follow))
            _WORDS[lang.name] = cached
        return cached

    def at_chain(self, i: int) -> int:
        parts, j = self.chain(i)
        name = ".".join(parts)
        if self.env_access(parts, j):
            return j
        rule = self.lookup(parts, after_member=i > 0 and self.is_member(self.toks[i - 1]))
        if rule is None and len(parts) == 1 and j < len(self.toks) and self.toks[j].text == "(":
            rule, name = self.variable_callee(parts[0], name)
        if rule is not None and self.calls < MAX_CALLS:
            args = self.args(j, rule)
            if args is None and rule.a == NO_ARGS:
                args = []
            if args is not None:
                self.calls += 1
                self.apply(rule, name, args)
        elif rule is not None and self.calls == MAX_CALLS:
            self.calls += 1
            self.sink.marker("analysis.incomplete", "too many calls in inline code")
        if self.lang.name == "awk" and name == "getline":
            self.awk_getline(i, j)
        return j

    def at_string(self, i: int) -> None:
        text = self.toks[i].text
        if self.lang.name == "awk":
            self.awk_string(i)
        if text.startswith("/inet/"):
            self.inet_file(text)

    # -- actions -----------------------------------------------------------------------------------
    def do_file(self, rule: Rule, name: str, args: Args) -> None:
        op = FileOp(rule.op)
        targets = args[rule.a :] if rule.rest else [self.arg(args, rule.a)]
        for target in targets:
            if target is None:
                continue
            if is_list(target):
                for item in split(target[1:-1]):
                    self.sink.path(op, self.value(item), name, recursive=self.recursive(rule, args))
            else:
                value = self.value(target)
                if op is FileOp.EXEC and value is not None and "://" in value:
                    # include('http://...'), dofile of a URL: remote code run in place
                    self.sink.url(NetDirection.FETCH, value, name)
                    self.sink.marker("inline.dynamic-exec", name)
                    continue
                self.sink.path(op, value, name, recursive=self.recursive(rule, args))

    def recursive(self, rule: Rule, args: Args) -> bool:
        if rule.recursive:
            return True
        return any(t.text == "recursive" for a in args for t in a) and rule.op == "delete"

    def do_copy(self, rule: Rule, name: str, args: Args) -> None:
        src = self.value(self.arg(args, rule.a))
        self.sink.path(FileOp.READ, src, name, recursive=rule.recursive)
        if rule.op == "move":
            self.sink.path(FileOp.DELETE, src, name, recursive=rule.recursive)
        self.sink.path(FileOp.WRITE, self.value(self.arg(args, rule.b)), name)

    def do_open(self, rule: Rule, name: str, args: Args) -> None:
        if self.lang.name == "perl":
            self.perl_open(args, name)
            return
        path = self.value(self.arg(args, rule.a))
        mode_toks = self.arg(args, rule.b) if rule.b >= 0 else None
        mode: str | None = "r"
        if mode_toks is not None:
            mode = None if mode_toks[0].kind == "op" else self.value(mode_toks)
        if rule.op == _WRITE:
            appends = any(
                t.text in ("FILE_APPEND", "a", "a+") for a in args[rule.a + 1 :] for t in a
            )
            mode = "a" if appends else "w"
        if (
            path is not None
            and "://" in path
            and not path.startswith(("php://", "file://"))
            and UNKNOWN not in path.split("://", 1)[0]
        ):
            upload = mode is not None and any(c in mode for c in "wax")
            self.sink.url(NetDirection.UPLOAD if upload else NetDirection.FETCH, path, name)
            return
        if path is not None and path.startswith("php://"):
            return
        path = path.removeprefix("file://") if path is not None else None
        if path is not None and path.startswith("|") and self.lang.name == "ruby":
            self.shell_text(path[1:], name)
            return
        for op in modes(mode):
            self.sink.path(op, path, name)

    def perl_open(self, args: Args, name: str) -> None:
        """``open(F, "<", p)``, ``open(F, ">p")``, ``open(F, "cmd |")``, ``open(STDIN, ">&S")``."""
        if len(args) < 2:
            return
        handle = "".join(t.text for t in args[0]).removeprefix("my").strip("*$ ")
        if len(args) >= 3:
            mode_text = (self.value(args[1]) or "").strip()
            if mode_text in ("-|", "|-") and len(args) > 3:
                self.do_system_list(args[2:], name)
                return
            target = self.value(args[2])
        else:
            text = self.value(args[1])
            if text is None:
                self.sink.marker("inline.dynamic-path", f"read {name}")
                return
            stripped = text.strip()
            mode_text = ""
            for prefix in ("+>>", "+<", "+>", ">>", "<&=", ">&=", "<&", ">&", "<", ">", "|"):
                if stripped.startswith(prefix):
                    mode_text = prefix
                    stripped = stripped[len(prefix) :].strip()
                    break
            if stripped.endswith("|") and not mode_text:
                mode_text, stripped = "-|", stripped[:-1].strip()
            target = stripped
        if "&" in mode_text:
            if handle.upper() in ("STDIN", "STDOUT", "STDERR") and self.made_socket:
                self.sink.marker("net.socket-to-shell", "")
            return
        if mode_text in ("|", "|-", "-|"):
            self.shell_text(target, name)
            return
        ops = {"<": [FileOp.READ], "": [FileOp.READ], ">": [FileOp.WRITE], ">>": [FileOp.APPEND]}
        for op in ops.get(mode_text, [FileOp.READ, FileOp.WRITE]):
            self.sink.path(op, target, name)

    def do_perl_iofile(self, rule: Rule, name: str, args: Args) -> None:
        """``IO::File->new(PATH)`` (open's two-argument form: ``"<p"``, ``">p"``, ``"cmd |"``)
        and ``IO::File->new(PATH, MODE)``, MODE as open's (``"<"``, ``">>"``) or fopen's
        (``"r"``, ``"w"``, ``"a"``); a numeric mode (``O_WRONLY|O_CREAT``) may do either."""
        if len(args) < 2:
            if args:
                self.perl_open([[], args[0]], name)
            return
        target = self.value(args[0])
        if target is None:
            self.sink.marker("inline.dynamic-path", f"open {name}")
            return
        mode = (self.value(args[1]) or "").strip()
        mode = _FOPEN_MODES.get(mode, mode)
        ops = {"<": [FileOp.READ], ">": [FileOp.WRITE], ">>": [FileOp.APPEND]}
        for op in ops.get(mode, [FileOp.READ, FileOp.WRITE]):
            self.sink.path(op, target, name)

    def do_shell(self, rule: Rule, name: str, args: Args) -> None:
        target = self.arg(args, rule.a)
        if target is not None and is_list(target):
            self.sink.argv([self.value(x) for x in split(target[1:-1])], name)
            return
        self.shell_text_of(target, name)

    def shell_text_of(self, target: list[Tok] | None, name: str) -> None:
        if target is None:
            return
        codec = self.codec_in(target)
        if codec is not None:
            self.sink.marker("obfuscation.decoded-exec", codec)
        self.shell_text(self.value(target), name)

    def shell_text(self, text: str | None, name: str) -> None:
        self.sink.shell(text, name)

    def do_system(self, rule: Rule, name: str, args: Args) -> None:
        """perl/ruby ``system``/``exec``: one string is shell text, several are an argv."""
        args = [a for a in args if not (a and a[0].text == "{" and self.lang.name == "ruby")]
        args = [a for a in args if not is_kwarg(a)]
        if len(args) == 1 and not is_list(args[0]):
            self.shell_text_of(args[0], name)
        elif len(args) == 1:
            self.sink.argv([self.value(x) for x in split(args[0][1:-1])], name)
        elif args:
            self.do_system_list(args, name)

    def do_system_list(self, args: Args, name: str) -> None:
        items: list[str | None] = []
        for a in args:
            if is_list(a):
                items.extend(self.value(x) for x in split(a[1:-1]))
            else:
                items.append(self.value(a))
        self.sink.argv(items, name)

    def do_spawn(self, rule: Rule, name: str, args: Args) -> None:
        """node ``spawn(cmd, [args])``, php ``pcntl_exec(path, [args])``, ``proc_open``."""
        first = self.arg(args, rule.a)
        if first is None:
            return
        if rule.op == "options-cmd" and first[0].text == "{":  # `Deno.run({cmd: [...]})`
            first = _member_list(first, "cmd") or first
        if is_list(first):
            self.sink.argv([self.value(x) for x in split(first[1:-1])], name)
            return
        rest = self.arg(args, rule.a + 1)
        shell_opt = any(t.text == "shell" for a in args[rule.a + 1 :] for t in a)
        if rule.op == "shell-or-argv" and (rest is None or not is_list(rest)):
            self.shell_text_of(first, name)
            return
        items: list[str | None] = [self.value(first)]
        if rest is not None and rest[0].text == "{":  # `new Deno.Command(cmd, {args: [...]})`
            rest = _member_list(rest, "args") or rest
        if rest is not None and is_list(rest):
            items.extend(self.value(x) for x in split(rest[1:-1]))
        if shell_opt:
            self.shell_text(" ".join(UNKNOWN if x is None else x for x in items), name)
        else:
            self.sink.argv(items, name)

    def do_net(self, rule: Rule, name: str, args: Args) -> None:
        """A URL (or an options object) at ``a``; the direction from ``rule.op`` or the call."""
        target = self.arg(args, rule.a)
        if target is None:
            return
        direction = self.direction(rule, args)
        if target[0].text == "{" and target[0].kind == "op":
            kv = pairs(target[1:-1])
            host = self.value(kv.get("hostname") or kv.get("host"))
            port = int_(self.value(kv.get("port")))
            if self.value(kv.get("method")) in _UPLOAD_WORDS:
                direction = NetDirection.UPLOAD
            self.sink.host_port(direction, host, port, name)
            return
        self.sink.url(direction, self.value(target), name)

    def direction(self, rule: Rule, args: Args) -> NetDirection:
        if rule.op in ("upload", "connect"):
            return NetDirection(rule.op)
        if rule.op == "auto":
            for a in args[rule.a + 1 :]:
                for t in a:
                    if t.text in _UPLOAD_WORDS or t.text in _BODY_KEYS:
                        return NetDirection.UPLOAD
                if self.lang.name == "lua":
                    return NetDirection.UPLOAD
            if self.lang.upload_hint and self.mentions(self.lang.upload_hint):
                return NetDirection.UPLOAD
        return NetDirection.FETCH

    def do_hostport(self, rule: Rule, name: str, args: Args) -> None:
        """``TCPSocket.new(host, port)``, node ``net.connect(port, host)`` (``b`` < ``a``),
        ``net.connect({host, port})``, Python ``s.connect((host, port))``."""
        if len(args) == 1 and is_list(args[0]) and args[0][0].text == "(":
            args = split(args[0][1:-1])  # a (host, port) tuple
            rule = rule._replace(a=0, b=1)
        host_toks = self.arg(args, rule.a)
        port = int_(self.value(self.arg(args, rule.b))) if rule.b >= 0 else None
        for a in args:
            if a and a[0].text == "{" and a[0].kind == "op":
                kv = pairs(a[1:-1])
                host_toks = kv.get("host") or kv.get("hostname") or [Tok("str", "localhost", 0)]
                port = int_(self.value(kv.get("port")))
                break
        if rule.op == "listen":
            self.made_socket = True
            if port is None and host_toks is not None:
                port = int_((self.value(host_toks) or "").rpartition(":")[2])
            self.sink.marker("net.listen", "" if port is None else str(port))
            return
        if host_toks is None and port is None:
            return
        host = self.value(host_toks) if host_toks is not None else "localhost"
        if host is not None and "://" in host:
            host = host.split("://", 1)[1]
        if host is not None and port is None and ":" in host and UNKNOWN not in host:
            host, _, p = host.rpartition(":")
            port = int_(p)
        self.made_socket = True
        direction = NetDirection(rule.op) if rule.op else NetDirection.CONNECT
        if direction is NetDirection.FETCH and self.mentions(self.lang.upload_hint):
            direction = NetDirection.UPLOAD  # Net::HTTP.start(...) { |h| h.post(...) }
        self.sink.host_port(direction, host, port, name)

    def do_require(self, rule: Rule, name: str, args: Args) -> None:
        module = self.value(self.arg(args, 0))
        if module is None or UNKNOWN in module:
            self.sink.marker("inline.dynamic-exec", name)

    def do_dup(self, rule: Rule, name: str, args: Args) -> None:
        if self.made_socket:
            self.sink.marker("net.socket-to-shell", "")

    def do_listen(self, rule: Rule, name: str, args: Args) -> None:
        self.made_socket = True
        port = int_(self.value(self.arg(args, rule.a)))
        self.sink.marker("net.listen", "" if port is None else str(port))

    def do_perl_socket(self, rule: Rule, name: str, args: Args) -> None:
        """``IO::Socket::INET->new(PeerAddr => "h:p")`` / ``(PeerHost => h, PeerPort => p)``;
        a single argument is ``"host:port"``."""
        kv = pairs([t for a in args for t in (*a, Tok("op", ",", 0))][:-1]) if args else {}
        if not kv and len(args) == 1:
            kv = {"PeerAddr": args[0]}
        elif not kv:  # new IO::Socket::INET(PeerAddr, "h:p"): the old comma form
            kv = {a[0].text: b for a, b in zip(args[::2], args[1::2], strict=False) if a}
        self.made_socket = True
        if "Listen" in kv or ("LocalPort" in kv and "PeerAddr" not in kv):
            port = int_(self.value(kv.get("LocalPort")))
            self.sink.marker("net.listen", "" if port is None else str(port))
            return
        host = self.value(kv.get("PeerAddr") or kv.get("PeerHost"))
        port = int_(self.value(kv.get("PeerPort")))
        if host is not None and port is None and ":" in host and UNKNOWN not in host:
            host, _, p = host.rpartition(":")
            port = int_(p)
        self.sink.host_port(NetDirection.CONNECT, host, port, name)

    def do_perl_connect(self, rule: Rule, name: str, args: Args) -> None:
        """``connect(S, sockaddr_in($port, inet_aton($host)))`` (also ``pack_sockaddr_in``)."""
        flat = [t for a in args[1:] for t in (*a, Tok("op", ",", 0))]
        for k, t in enumerate(flat):
            if t.text.endswith("sockaddr_in") and k + 1 < len(flat) and flat[k + 1].text == "(":
                end = match_in(flat, k + 1)
                inner = split(flat[k + 2 : end])
                port = int_(self.value(self.arg(inner, 0)))
                host_toks = self.arg(inner, 1) or []
                if len(host_toks) > 2 and host_toks[1].text == "(":
                    host_toks = host_toks[2 : match_in(host_toks, 1)]
                self.made_socket = True
                self.sink.host_port(NetDirection.CONNECT, self.value(host_toks), port, name)
                return
        self.made_socket = True
        self.sink.marker("inline.dynamic-host", f"connect {name}")

    def do_eval(self, rule: Rule, name: str, args: Args) -> None:
        target = self.arg(args, rule.a)
        if target is None:
            return
        if target[0].text == "{" or (target[0].kind == "id" and target[0].text == "function"):
            return  # block eval / function literal: the code is in the text and scanned anyway
        self.eval_code(self.value(target), name, target)

    def eval_code(self, code: str | None, name: str, toks: list[Tok] | None) -> None:
        codec = self.codec_in(toks) if toks is not None else None
        if codec is not None:
            self.sink.marker("obfuscation.decoded-exec", codec)
        if code is None or UNKNOWN in code:
            self.sink.marker("inline.dynamic-exec", name)
            return
        if self.depth >= MAX_DECODE_DEPTH:
            self.sink.marker("analysis.incomplete", "decoded payload nesting too deep")
            return
        self.recurse(self.sink, self.lang.name, as_text(code), depth=self.depth + 1)

    def do_env(self, rule: Rule, name: str, args: Args) -> None:
        if not args:
            self.sink.env_read(None)
            return
        self.sink.env_read(self.value(args[0]))

    def do_putenv(self, rule: Rule, name: str, args: Args) -> None:
        text = self.value(self.arg(args, 0))
        if rule.op == "pair":
            self.set_env(text, self.arg(args, 1))
            return
        key, _, value = (text or UNKNOWN).partition("=")
        self.sink.env_set(key, value)

    def set_env(self, key: str | None, value_toks: list[Tok] | None) -> None:
        value = self.value(value_toks)
        self.sink.env_set(key or UNKNOWN, UNKNOWN if value is None else value)

    def do_fork(self, rule: Rule, name: str, args: Args) -> None:
        if self.mentions(self.lang.loop_words):
            self.sink.marker("resource.fork-bomb", "")

    def do_indirect(self, rule: Rule, name: str, args: Args) -> None:
        """``call_user_func('system', 'id')``: the first argument names the function."""
        target = self.value(self.arg(args, 0))
        if target is None or UNKNOWN in target:
            self.sink.marker("inline.dynamic-exec", name)
            return
        inner = self.lookup([target], after_member=False)
        if inner is not None:
            rest = args[1:]
            if rule.op == "array" and rest and is_list(rest[0]):
                rest = split(rest[0][1:-1] if rest[0][0].text != "array" else rest[0][2:-1])
            self.apply(inner, target, rest)

    def do_dynamic(self, rule: Rule, name: str, args: Args) -> None:
        self.sink.marker("inline.dynamic-exec", name)

    def do_curl(self, rule: Rule, name: str, args: Args) -> None:
        if rule.b >= 0:  # curl_setopt($ch, OPT, value)
            opt = self.arg(args, 1)
            if not opt or opt[0].text not in ("CURLOPT_URL",):
                return
        self.do_net(Rule("net", a=rule.a if rule.b < 0 else 2, op="auto"), name, args)

    def do_mail(self, rule: Rule, name: str, args: Args) -> None:
        to = self.value(self.arg(args, 0))
        self.sink.url(NetDirection.UPLOAD, None if to is None else f"mailto:{to}", name)

    # -- language idioms without a call -------------------------------------------------------
    def env_access(self, parts: list[str], j: int) -> bool:
        """``$ENV{X}``, ``ENV['X']``, ``process.env.X``, ``$_SERVER['X']``, ``ENVIRON["X"]``."""
        name = ".".join(parts)
        containers = self.lang.env_containers
        toks = self.toks
        n = len(toks)
        start = j - 1
        if self.lang.name == "perl" and name == "ENV" and start > 0 and toks[start - 1].text == "%":
            self.sink.env_read(None)  # %ENV: the whole environment
            return True
        for container in containers:
            if name == container:
                if j < n and toks[j].kind == "op" and toks[j].text in ("[", "{"):
                    end = self.match_ends.get(j, n)
                    inner = toks[j + 1 : end]
                    bare = len(inner) == 1 and inner[0].kind == "id" and toks[j].text == "{"
                    key = inner[0].text if bare else self.value(inner)
                    if end + 1 < n and toks[end + 1].kind == "op" and toks[end + 1].text == "=":
                        stop = end + 2
                        while stop < n and toks[stop].text not in (";", "\n", ")", "}"):
                            stop += 1
                        self.set_env(key, toks[end + 2 : stop])
                    else:
                        self.sink.env_read(key)
                    return True
                if j < n and toks[j].kind == "op" and toks[j].text in self.lang.member_ops:
                    return False
                self.sink.env_read(None)  # the whole environment as a value
                return True
            if name.startswith(container + ".") and self.lang.name == "node":
                key = parts[len(container.split(".")) :][0]
                if j < n and toks[j].text == "=" and toks[j].kind == "op":
                    stop = j + 1
                    while stop < n and toks[stop].text not in (";", "\n", ")", "}", ","):
                        stop += 1
                    self.set_env(key, toks[j + 1 : stop])
                else:
                    self.sink.env_read(key)
                return True
        return False

    def awk_string(self, i: int) -> None:
        """``print ... > "file"``, ``>> "file"``, ``| "cmd"`` inside a print statement."""
        toks = self.toks
        if i == 0 or toks[i - 1].kind != "op" or toks[i - 1].text not in (">", ">>", "|"):
            return
        k = i - 1
        while k > 0 and toks[k].text not in (";", "{", "}", "\n", "print", "printf"):
            k -= 1
        if toks[k].text not in ("print", "printf") or toks[k].kind != "id":
            return
        value = self.value([toks[i]])
        redirect = toks[i - 1].text
        if redirect == "|":
            self.shell_text(value, "awk print |")
        else:
            self.sink.path(FileOp.APPEND if redirect == ">>" else FileOp.WRITE, value, "awk print")

    def awk_getline(self, i: int, j: int) -> None:
        """``"cmd" | getline`` runs a command; ``getline < "file"`` reads a file."""
        toks = self.toks
        if i >= 2 and toks[i - 1].text in ("|", "|&"):
            k = i - 2
            start = k
            while start > 0 and toks[start - 1].kind in ("str", "id", "num"):
                start -= 1
            command = self.value(toks[start : k + 1])
            if command is None or not command.startswith("/inet/"):  # gawk network coprocess
                self.shell_text(command, "awk getline")
            return
        k = j
        if k < len(toks) and toks[k].kind == "id":
            k += 1
        if k + 1 < len(toks) and toks[k].text == "<":
            self.sink.path(FileOp.READ, self.value([toks[k + 1]]), "awk getline")

    def inet_file(self, text: str) -> None:
        """gawk ``/inet/tcp/lport/host/rport`` special files (and bash-like ``/dev/tcp``)."""
        parts = text.split("/")
        if len(parts) < 6:
            return
        self.made_socket = True
        lport, host, rport = parts[3], parts[4], parts[5]
        if rport == "0":
            self.sink.marker("net.listen", lport)
        else:
            self.sink.host_port(NetDirection.CONNECT, host, int_(rport), "awk /inet")

    def post_checks(self) -> None:
        """A socket wired to a shell: descriptors duplicated onto a launched shell, or commands
        read from the socket and run."""
        if not self.made_socket:
            return
        wired = self.mentions(self.lang.wiring)
        dynamic = "inline.dynamic-exec" in self.sink.names()
        dup_in_shell = any(_FD_DUP.search(text) for text in self.sink.shell_texts())
        if (self.sink.runs_shell() and (dup_in_shell or wired)) or (dynamic and wired):
            self.sink.marker("net.socket-to-shell", "")
        elif dynamic and self.mentions(_SOCKET_READS):
            self.sink.marker("net.socket-to-shell", "")  # commands read from the socket


def _member_list(toks: list[Tok], key: str) -> list[Tok] | None:
    """The ``[...]`` given to ``key`` in an object literal (``{args: ["-c", x]}``), or None."""
    for k in range(len(toks) - 2):
        if toks[k].text.strip("'\"") == key and toks[k + 1].text == ":" and toks[k + 2].text == "[":
            depth = 0
            for end in range(k + 2, len(toks)):
                if toks[end].kind == "op" and toks[end].text in "[]":
                    depth += 1 if toks[end].text == "[" else -1
                    if depth == 0:
                        return toks[k + 2 : end + 1]
            return None
    return None
