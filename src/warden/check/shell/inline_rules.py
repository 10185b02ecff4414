"""Per-language tables for the token scanner: which calls touch files, hosts and processes.

Rules are data (:class:`Rule`), keyed by callee: ``"fs.readFileSync"`` matches a chain ending in
those names, a bare ``"system"`` only an unqualified call, and ``"*.readFileSync"`` the method on
any receiver. ``requires`` names text that must appear somewhere in the code for an ambiguous
name to count (``exec`` is ``child_process`` only when the code mentions it).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LANGS", "Lang", "Rule"]


class Rule(NamedTuple):
    """What a call does: ``action`` names a ``do_*`` method of the scanner; ``a``/``b`` are
    argument indexes; ``op`` refines the action (a FileOp value, a direction, a mode)."""

    action: str
    a: int = 0
    b: int = -1
    op: str = ""
    requires: tuple[str, ...] = ()
    recursive: bool = False
    rest: bool = False
    parens_only: bool = False


class Lang(NamedTuple):
    """Syntax facts and tables of one language."""

    name: str
    rules: dict[str, Rule]
    member_ops: frozenset[str]
    concat_ops: frozenset[str]
    bare_calls: bool
    newline_ends: bool
    value_funcs: dict[str, str]
    home_exprs: dict[str, str]
    env_home: frozenset[tuple[str, str]]
    env_containers: tuple[str, ...]
    upload_hint: tuple[str, ...]
    loop_words: tuple[str, ...]
    wiring: tuple[str, ...]


def _f(op: str, a: int = 0, **kw: bool) -> Rule:
    return Rule("file", a=a, op=op, **kw)  # type: ignore[arg-type]


READ, WRITE, APPEND, DELETE, CHMOD, LIST, EXEC = (
    "read", "write", "append", "delete", "chmod", "list", "exec",
)  # fmt: skip
_SHELL = Rule("shell")
_SYSTEM = Rule("system")
_EVAL = Rule("eval")

_PERL_LWP = ("LWP", "HTTP::Tiny", "Mojo::UserAgent", "Furl")
PERL = Lang(
    name="perl",
    rules={
        "open": Rule("open", a=1, b=-1),
        "sysopen": Rule("open", a=1, b=-1),
        "unlink": _f(DELETE, rest=True),
        "rmdir": _f(DELETE, rest=True),
        "rmtree": _f(DELETE, rest=True, recursive=True),
        "remove_tree": _f(DELETE, rest=True, recursive=True),
        "File.Path.rmtree": _f(DELETE, rest=True, recursive=True),
        "File.Path.remove_tree": _f(DELETE, rest=True, recursive=True),
        "chmod": _f(CHMOD, 1, rest=True),
        "chown": _f(CHMOD, 2, rest=True),
        "mkdir": _f(WRITE),
        "rename": Rule("copy", 0, 1, op="move"),
        "move": Rule("copy", 0, 1, op="move", requires=("File::Copy",)),
        "copy": Rule("copy", 0, 1, requires=("File::Copy",)),
        "File.Copy.copy": Rule("copy", 0, 1),
        "File.Copy.move": Rule("copy", 0, 1, op="move"),
        "do": Rule("file", op=EXEC, requires=("do '", 'do "', "do(")),
        "require": Rule("file", op=EXEC, requires=(".pl", ".pm")),
        "system": _SYSTEM,
        "exec": _SYSTEM,
        "readpipe": _SHELL,
        "eval": _EVAL,
        "fork": Rule("fork", a=99),
        "IO.File.new": Rule("perl_iofile"),
        "IO.Socket.INET.new": Rule("perl_socket"),
        "IO.Socket.IP.new": Rule("perl_socket"),
        "IO.Socket.SSL.new": Rule("perl_socket"),
        "IO.Socket.INET": Rule("perl_socket", parens_only=True),
        "IO.Socket.IP": Rule("perl_socket", parens_only=True),
        "connect": Rule("perl_connect"),
        "get": Rule("net", requires=("LWP",)),
        "getstore": Rule("net", requires=("LWP",)),
        "getprint": Rule("net", requires=("LWP",)),
        "head": Rule("net", requires=("LWP",)),
        "*.get": Rule("net", requires=_PERL_LWP),
        "*.post": Rule("net", op="upload", requires=_PERL_LWP),
        "*.put": Rule("net", op="upload", requires=_PERL_LWP),
        "*.post_form": Rule("net", op="upload", requires=_PERL_LWP),
        "*.mirror": Rule("net", requires=_PERL_LWP),
        "*.request": Rule("dynamic", requires=_PERL_LWP),
    },
    member_ops=frozenset({"->", "::"}),
    concat_ops=frozenset({"."}),
    bare_calls=True,
    newline_ends=False,
    value_funcs={
        "decode_base64": "base64",
        "MIME.Base64.decode_base64": "base64",
        "decode_base64url": "base64url",
        "pack": "pack",
        "sprintf": "sprintf",
        "reverse": "pass",
        "glob": "pass",
        "File.Spec.catfile": "join",
        "catfile": "join",
        "Compress.Zlib.uncompress": "zlib",
        "uncompress": "zlib",
    },
    home_exprs={},
    env_home=frozenset({("$ENV", "HOME")}),
    env_containers=("$ENV",),
    upload_hint=("->post", "->put", "POST", "PUT"),
    loop_words=("while", "for", "until", "redo"),
    wiring=("STDIN", "STDOUT", "STDERR", "<&", ">&"),
)

_CP = ("child_process",)
_NODE_FILE = {
    "readFileSync": READ, "readFile": READ, "createReadStream": READ, "readdirSync": LIST,
    "readdir": LIST, "writeFileSync": WRITE, "writeFile": WRITE, "createWriteStream": WRITE,
    "appendFileSync": APPEND, "appendFile": APPEND, "unlinkSync": DELETE, "unlink": DELETE,
    "rmdirSync": DELETE, "rmdir": DELETE, "rmSync": DELETE, "rm": DELETE, "chmodSync": CHMOD,
    "chmod": CHMOD, "chownSync": CHMOD, "chown": CHMOD, "mkdirSync": WRITE, "mkdir": WRITE,
    "truncateSync": WRITE, "truncate": WRITE, "opendirSync": LIST,
}  # fmt: skip
_node_rules: dict[str, Rule] = {}
for _name, _op in _NODE_FILE.items():
    for _mod in ("fs", "promises", "fsp", "fse", "fsPromises"):
        _node_rules[f"{_mod}.{_name}"] = _f(_op)
    if _name.endswith(("Sync", "Stream")):
        _node_rules[f"*.{_name}"] = _f(_op)
        _node_rules[_name] = _f(_op)
for _mod in ("fs", "promises", "fsp", "fse"):
    _node_rules[f"{_mod}.copyFile"] = Rule("copy", 0, 1)
    _node_rules[f"{_mod}.rename"] = Rule("copy", 0, 1, op="move")
    _node_rules[f"{_mod}.open"] = Rule("open", 0, 1)
    _node_rules[f"{_mod}.cp"] = Rule("copy", 0, 1, recursive=True)
for _name in ("copyFileSync", "cpSync"):
    _node_rules[f"*.{_name}"] = Rule("copy", 0, 1, recursive=_name == "cpSync")
_node_rules["*.renameSync"] = Rule("copy", 0, 1, op="move")
_node_rules["*.openSync"] = Rule("open", 0, 1)
for _name in ("exec", "execSync"):
    _node_rules[_name] = Rule("shell", requires=_CP)
    _node_rules[f"*.{_name}"] = Rule("shell", requires=_CP)
for _name in ("spawn", "spawnSync", "execFile", "execFileSync", "fork"):
    _node_rules[_name] = Rule("spawn", requires=_CP)
    _node_rules[f"*.{_name}"] = Rule("spawn", requires=_CP)
# Deno's and Bun's own file and process APIs (`deno eval`, `bun -e` run JavaScript through
# this table too): `Deno.readTextFileSync(P)`, `Bun.file(P).text()`, `Bun.spawn([...])`.
_DENO_FILE = {
    "readTextFile": READ, "readFile": READ, "open": READ, "readDir": LIST, "readLink": READ,
    "writeTextFile": WRITE, "writeFile": WRITE, "create": WRITE, "mkdir": WRITE,
    "truncate": WRITE, "remove": DELETE, "chmod": CHMOD, "chown": CHMOD,
}  # fmt: skip
for _name, _op in _DENO_FILE.items():
    _node_rules[f"Deno.{_name}"] = _f(_op)
    _node_rules[f"Deno.{_name}Sync"] = _f(_op)
for _name in ("copyFile", "copyFileSync"):
    _node_rules[f"Deno.{_name}"] = Rule("copy", 0, 1)
for _name in ("rename", "renameSync"):
    _node_rules[f"Deno.{_name}"] = Rule("copy", 0, 1, op="move")
_node_rules["Deno.Command"] = Rule("spawn")
_node_rules["Deno.run"] = Rule("spawn", op="options-cmd")  # Deno 1: `Deno.run({cmd: [...]})`
_node_rules["Bun.file"] = _f(READ)
_node_rules["Bun.write"] = _f(WRITE)
_node_rules["Bun.spawn"] = Rule("spawn")
_node_rules["Bun.spawnSync"] = Rule("spawn")
for _mod in ("http", "https", "http2"):
    _node_rules[f"{_mod}.get"] = Rule("net")
    _node_rules[f"{_mod}.request"] = Rule("net", op="auto")
for _verb in ("get", "head", "delete", "post", "put", "patch", "request"):
    _op = "upload" if _verb in ("post", "put", "patch", "delete") else "auto"
    _node_rules[f"axios.{_verb}"] = Rule("net", op=_op if _verb != "get" else "")
    _node_rules[f"got.{_verb}"] = Rule("net", op=_op if _verb != "get" else "")
_node_rules.update(
    {
        "fetch": Rule("net", op="auto"),
        "axios": Rule("net", op="auto"),
        "got": Rule("net", op="auto"),
        "net.connect": Rule("hostport", 1, 0),
        "net.createConnection": Rule("hostport", 1, 0),
        "tls.connect": Rule("hostport", 1, 0),
        "*.connect": Rule("hostport", 1, 0, requires=("net", "tls")),
        "*.listen": Rule("listen", requires=("createServer",)),
        "eval": _EVAL,
        "Function": _EVAL,
        "vm.runInThisContext": _EVAL,
        "vm.runInNewContext": _EVAL,
        "vm.runInContext": _EVAL,
        "vm.Script": _EVAL,
        "setTimeout": Rule("eval", requires=("setTimeout('", 'setTimeout("', "setTimeout(`")),
        "process.binding": Rule("dynamic"),
        "require": Rule("require"),
        "import": Rule("require"),
    }
)
NODE = Lang(
    name="node",
    rules=_node_rules,
    member_ops=frozenset({".", "?."}),
    concat_ops=frozenset({"+"}),
    bare_calls=False,
    newline_ends=False,
    value_funcs={
        "atob": "base64",
        "Buffer.from": "buffer",
        "path.join": "join",
        "path.resolve": "join",
        "String": "pass",
        "decodeURIComponent": "pass",
        "unescape": "pass",
        "zlib.inflateSync": "zlib",
        "zlib.gunzipSync": "zlib",
    },
    home_exprs={"os.homedir": "~", "process.env.HOME": "$HOME", "homedir": "~"},
    env_home=frozenset({("process.env", "HOME")}),
    env_containers=("process.env",),
    upload_hint=(".write(", "method: 'POST'", 'method: "POST"', "method:'POST'", 'method:"POST"'),
    loop_words=("while", "for", "setInterval"),
    wiring=(".pipe(", "stdio"),
)

_RUBY_NET = ("Net::HTTP",)
RUBY = Lang(
    name="ruby",
    rules={
        "File.read": _f(READ),
        "File.readlines": _f(READ),
        "File.binread": _f(READ),
        "File.foreach": _f(READ),
        "IO.read": _f(READ),
        "IO.readlines": _f(READ),
        "IO.binread": _f(READ),
        "File.write": Rule("open", 0, -1, op=WRITE),
        "IO.write": Rule("open", 0, -1, op=WRITE),
        "File.binwrite": _f(WRITE),
        "File.open": Rule("open", 0, 1),
        "File.new": Rule("open", 0, 1),
        "File.delete": _f(DELETE, rest=True),
        "File.unlink": _f(DELETE, rest=True),
        "Dir.rmdir": _f(DELETE),
        "Dir.delete": _f(DELETE),
        "FileUtils.rm": _f(DELETE),
        "FileUtils.rm_f": _f(DELETE),
        "FileUtils.rm_r": _f(DELETE, recursive=True),
        "FileUtils.rm_rf": _f(DELETE, recursive=True),
        "FileUtils.rmtree": _f(DELETE, recursive=True),
        "FileUtils.remove_dir": _f(DELETE, recursive=True),
        "FileUtils.remove_entry": _f(DELETE, recursive=True),
        "File.chmod": _f(CHMOD, 1, rest=True),
        "FileUtils.chmod": _f(CHMOD, 1),
        "FileUtils.chmod_R": _f(CHMOD, 1, recursive=True),
        "FileUtils.chown": _f(CHMOD, 2),
        "FileUtils.cp": Rule("copy", 0, 1),
        "FileUtils.cp_r": Rule("copy", 0, 1, recursive=True),
        "FileUtils.copy": Rule("copy", 0, 1),
        "FileUtils.mv": Rule("copy", 0, 1, op="move"),
        "FileUtils.move": Rule("copy", 0, 1, op="move"),
        "File.rename": Rule("copy", 0, 1, op="move"),
        "FileUtils.touch": _f(WRITE),
        "FileUtils.mkdir_p": _f(WRITE),
        "Dir.mkdir": _f(WRITE),
        "Dir.glob": _f(LIST),
        "Dir.entries": _f(LIST),
        "Dir.children": _f(LIST),
        "load": _f(EXEC),
        "require_relative": _f(EXEC),
        "system": _SYSTEM,
        "exec": _SYSTEM,
        "spawn": _SYSTEM,
        "Kernel.system": _SYSTEM,
        "Kernel.exec": _SYSTEM,
        "Kernel.spawn": _SYSTEM,
        "Process.spawn": _SYSTEM,
        "Process.exec": _SYSTEM,
        "IO.popen": Rule("shell"),
        "Open3.capture2": _SYSTEM,
        "Open3.capture2e": _SYSTEM,
        "Open3.capture3": _SYSTEM,
        "Open3.popen3": _SYSTEM,
        "Open3.popen2": _SYSTEM,
        "Open3.popen2e": _SYSTEM,
        "PTY.spawn": _SYSTEM,
        "open": Rule("open", 0, 1),
        "Kernel.open": Rule("open", 0, 1),
        "URI.open": Rule("net"),
        "Net.HTTP.get": Rule("net"),
        "Net.HTTP.get_response": Rule("net"),
        "Net.HTTP.get_print": Rule("net"),
        "Net.HTTP.post": Rule("net", op="upload"),
        "Net.HTTP.post_form": Rule("net", op="upload"),
        "Net.HTTP.put": Rule("net", op="upload"),
        "Net.HTTP.new": Rule("hostport", 0, 1, op="fetch"),
        "Net.HTTP.start": Rule("hostport", 0, 1, op="fetch"),
        "HTTParty.get": Rule("net"),
        "HTTParty.post": Rule("net", op="upload"),
        "RestClient.get": Rule("net"),
        "RestClient.post": Rule("net", op="upload"),
        "TCPSocket.new": Rule("hostport", 0, 1),
        "TCPSocket.open": Rule("hostport", 0, 1),
        "Socket.tcp": Rule("hostport", 0, 1),
        "UDPSocket.send": Rule("hostport", 2, 3, op="upload"),
        "TCPServer.new": Rule("hostport", 1, 0, op="listen"),
        "TCPServer.open": Rule("hostport", 1, 0, op="listen"),
        "WEBrick.HTTPServer.new": Rule("listen", 1),
        "eval": _EVAL,
        "instance_eval": _EVAL,
        "class_eval": _EVAL,
        "module_eval": _EVAL,
        "*.instance_eval": _EVAL,
        "*.class_eval": _EVAL,
        "binding.eval": _EVAL,
        "ENV.fetch": Rule("env"),
        "ENV.to_h": Rule("env", a=99),
        "ENV.to_a": Rule("env", a=99),
        "ENV.inspect": Rule("env", a=99),
        "ENV.each": Rule("env", a=99),
        "ENV.store": Rule("putenv", op="pair"),
        "fork": Rule("fork", a=99),
        "Process.fork": Rule("fork", a=99),
        "*.send": Rule("dynamic", requires=(".send(:", '.send("', ".send('")),
        "*.public_send": Rule("dynamic"),
    },
    member_ops=frozenset({".", "::", "&."}),
    concat_ops=frozenset({"+", "<<"}),
    bare_calls=True,
    newline_ends=True,
    value_funcs={
        "Base64.decode64": "base64",
        "Base64.strict_decode64": "base64",
        "Base64.urlsafe_decode64": "base64url",
        "Zlib.inflate": "zlib",
        "Zlib.Inflate.inflate": "zlib",
        "File.expand_path": "pass",
        "File.join": "join",
        "URI": "pass",
        "URI.parse": "pass",
        "Pathname.new": "pass",
        "format": "sprintf",
        "sprintf": "sprintf",
        "ENV.fetch": "env",
    },
    home_exprs={"Dir.home": "~"},
    env_home=frozenset({("ENV", "HOME")}),
    env_containers=("ENV",),
    upload_hint=("Post", ".post", "request_post", "Put"),
    loop_words=("loop", "while", "until", ".times", "each"),
    wiring=("reopen", ":in", ":out", "in:", "out:", "<&", ">&", "IO.select", "dup2"),
)

PHP = Lang(
    name="php",
    rules={
        "file_get_contents": Rule("open", 0, -1),
        "file": Rule("open", 0, -1),
        "readfile": Rule("open", 0, -1),
        "fopen": Rule("open", 0, 1),
        "file_put_contents": Rule("open", 0, -1, op=WRITE),
        "unlink": _f(DELETE),
        "rmdir": _f(DELETE),
        "chmod": _f(CHMOD),
        "chown": _f(CHMOD),
        "chgrp": _f(CHMOD),
        "mkdir": _f(WRITE),
        "touch": _f(WRITE),
        "copy": Rule("copy", 0, 1),
        "rename": Rule("copy", 0, 1, op="move"),
        "scandir": _f(LIST),
        "glob": _f(LIST),
        "opendir": _f(LIST),
        "include": _f(EXEC),
        "include_once": _f(EXEC),
        "require": _f(EXEC),
        "require_once": _f(EXEC),
        "system": _SHELL,
        "exec": _SHELL,
        "shell_exec": _SHELL,
        "passthru": _SHELL,
        "popen": _SHELL,
        "proc_open": _SHELL,
        "pcntl_exec": Rule("spawn"),
        "eval": _EVAL,
        "assert": Rule("eval", requires=("assert('", 'assert("', "assert($")),
        "create_function": Rule("eval", a=1),
        "preg_replace": Rule("dynamic", requires=("/e'", '/e"')),
        "call_user_func": Rule("indirect"),
        "call_user_func_array": Rule("indirect", op="array"),
        "forward_static_call": Rule("indirect"),
        "fsockopen": Rule("hostport", 0, 1),
        "pfsockopen": Rule("hostport", 0, 1),
        "stream_socket_client": Rule("hostport", 0),
        "socket_connect": Rule("hostport", 1, 2),
        "stream_socket_server": Rule("hostport", 0, op="listen"),
        "socket_bind": Rule("hostport", 1, 2, op="listen"),
        "curl_init": Rule("curl"),
        "curl_setopt": Rule("curl", b=2),
        "mail": Rule("mail"),
        "getenv": Rule("env"),
        "putenv": Rule("putenv"),
        "pcntl_fork": Rule("fork", a=99),
    },
    member_ops=frozenset({"->", "::", "?->"}),
    concat_ops=frozenset({"."}),
    bare_calls=True,
    newline_ends=False,
    value_funcs={
        "base64_decode": "base64",
        "hex2bin": "hex",
        "str_rot13": "rot13",
        "gzinflate": "deflate",
        "gzuncompress": "zlib",
        "gzdecode": "zlib",
        "strrev": "pass",
        "sprintf": "sprintf",
        "realpath": "pass",
        "getenv": "env",
        "convert_uudecode": "",
    },
    home_exprs={},
    env_home=frozenset({("$_SERVER", "HOME"), ("$_ENV", "HOME")}),
    env_containers=("$_ENV", "$_SERVER"),
    upload_hint=("CURLOPT_POST", "CURLOPT_UPLOAD", "CURLOPT_PUT", "'POST'", '"POST"', "'PUT'"),
    loop_words=("while", "for"),
    wiring=("<&", ">&", "=>$", "=> $", "proc_open"),
)

LUA = Lang(
    name="lua",
    rules={
        "os.execute": _SHELL,
        "io.popen": _SHELL,
        "io.open": Rule("open", 0, 1),
        "io.lines": _f(READ),
        "io.input": _f(READ),
        "io.output": _f(WRITE),
        "os.remove": _f(DELETE),
        "os.rename": Rule("copy", 0, 1, op="move"),
        "dofile": _f(EXEC),
        "loadfile": _f(EXEC),
        "loadstring": _EVAL,
        "load": _EVAL,
        "os.getenv": Rule("env"),
        "socket.connect": Rule("hostport", 0, 1),
        "*.connect": Rule("hostport", 0, 1, requires=("socket",)),
        "socket.bind": Rule("hostport", 0, 1, op="listen"),
        "*.bind": Rule("hostport", 0, 1, op="listen", requires=("socket",)),
        "http.request": Rule("net", op="auto"),
    },
    member_ops=frozenset({".", ":"}),
    concat_ops=frozenset({".."}),
    bare_calls=True,
    newline_ends=False,
    value_funcs={"os.getenv": "env", "string.format": "sprintf", "string.reverse": "pass"},
    home_exprs={},
    env_home=frozenset(),
    env_containers=(),
    upload_hint=(),
    loop_words=("while", "for", "repeat"),
    wiring=("<&", ">&"),
)

AWK = Lang(
    name="awk",
    rules={
        "system": Rule("shell", parens_only=True),
    },
    member_ops=frozenset(),
    concat_ops=frozenset(),
    bare_calls=False,
    newline_ends=True,
    value_funcs={"sprintf": "sprintf"},
    home_exprs={},
    env_home=frozenset({("ENVIRON", "HOME")}),
    env_containers=("ENVIRON",),
    upload_hint=(),
    loop_words=("while", "for"),
    wiring=("/inet/",),
)

# Fallback for Python that does not parse (Python 2, truncated code): conservative, shallow.
PYTHON = Lang(
    name="python",
    rules={
        "open": Rule("open", 0, 1),
        "os.system": _SHELL,
        "os.popen": _SHELL,
        "commands.getoutput": _SHELL,
        "subprocess.getoutput": _SHELL,
        "subprocess.call": Rule("spawn", op="shell-or-argv"),
        "subprocess.run": Rule("spawn", op="shell-or-argv"),
        "subprocess.Popen": Rule("spawn", op="shell-or-argv"),
        "subprocess.check_output": Rule("spawn", op="shell-or-argv"),
        "subprocess.check_call": Rule("spawn", op="shell-or-argv"),
        "pty.spawn": Rule("spawn"),
        "os.remove": _f(DELETE),
        "os.unlink": _f(DELETE),
        "shutil.rmtree": _f(DELETE, recursive=True),
        "os.chmod": _f(CHMOD),
        "exec": _EVAL,
        "eval": _EVAL,
        "execfile": _f(EXEC),
        "urllib2.urlopen": Rule("net", op="auto"),
        "urllib.urlopen": Rule("net", op="auto"),
        "urllib.request.urlopen": Rule("net", op="auto"),
        "requests.get": Rule("net"),
        "requests.post": Rule("net", op="upload"),
        "requests.put": Rule("net", op="upload"),
        "*.connect": Rule("hostport", 0, 1, requires=("socket",)),
        "os.getenv": Rule("env"),
        "os.environ.get": Rule("env"),
        "os.fork": Rule("fork", a=99),
        "os.dup2": Rule("dup"),
    },
    member_ops=frozenset({"."}),
    concat_ops=frozenset({"+"}),
    bare_calls=False,
    newline_ends=True,
    value_funcs={
        "base64.b64decode": "base64",
        "b64decode": "base64",
        "os.path.expanduser": "pass",
        "os.path.join": "join",
        "bytes.fromhex": "hex",
    },
    home_exprs={},
    env_home=frozenset({("os.environ", "HOME")}),
    env_containers=("os.environ",),
    upload_hint=("data=",),
    loop_words=("while", "for"),
    wiring=("dup2", "fileno"),
)

LANGS: dict[str, Lang] = {lang.name: lang for lang in (PERL, NODE, RUBY, PHP, LUA, AWK, PYTHON)}
