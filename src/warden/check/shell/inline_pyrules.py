"""Python call handlers: what each resolved callee does, as data keyed by qualified name.

:data:`HANDLERS` maps a qualified callee (``os.system``, ``socket.socket().connect``,
``requests.Session().post``) to a function of the :class:`~.inline_python.Analyzer` and the call
node; :func:`method_handler` covers methods on receivers the scope could not resolve.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.inline_sink import UNKNOWN

if TYPE_CHECKING:
    from warden.check.shell.inline_python import Analyzer

__all__ = ["HANDLERS", "STAR_NAMES", "UPLOAD_METHODS", "is_read", "kw", "method_handler"]

_Handler = Callable[["Analyzer", str, ast.Call], None]
UPLOAD_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BODY_KWARGS = frozenset({"data", "json", "files", "content", "body"})
_STD_FDS = frozenset({0, 1, 2})


def kw(node: ast.Call, name: str) -> ast.expr | None:
    for k in node.keywords:
        if k.arg == name:
            return k.value
    return None


def is_read(name: str | None) -> bool:
    return name is not None and name.endswith((".read", ".read_text", ".read_bytes", ".readlines"))


# -- handlers ------------------------------------------------------------------------------------


def _h_open(a: Analyzer, name: str, node: ast.Call) -> None:
    path = a.arg(node, 0, "file")
    if isinstance(path, ast.Constant) and isinstance(path.value, int):
        return  # open(0): a descriptor, not a path
    mode_node = a.arg(node, 1, "mode")
    mode = "r" if mode_node is None else a.val(mode_node)
    value = a.val(path)
    for op in _modes(mode):
        a.sink.path(op, value, name)


def _modes(mode: str | None) -> tuple[FileOp, ...]:
    if mode is None or UNKNOWN in mode:
        return (FileOp.READ, FileOp.WRITE)
    ops: list[FileOp] = []
    if "r" in mode or "+" in mode or not ({"w", "a", "x"} & set(mode)):
        ops.append(FileOp.READ)
    if "w" in mode or "x" in mode or ("+" in mode and "a" not in mode):
        ops.append(FileOp.WRITE)
    if "a" in mode:
        ops.append(FileOp.APPEND)
    return tuple(ops)


def _h_os_open(a: Analyzer, name: str, node: ast.Call) -> None:
    flags = a.arg(node, 1, "flags")
    names = {n.attr for n in ast.walk(flags) if isinstance(n, ast.Attribute)} if flags else set()
    names |= {n.id for n in ast.walk(flags) if isinstance(n, ast.Name)} if flags else set()
    value = a.val(a.arg(node, 0, "path"))
    if "O_APPEND" in names:
        a.sink.path(FileOp.APPEND, value, name)
    elif names & {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"}:
        a.sink.path(FileOp.WRITE, value, name)
    else:
        a.sink.path(FileOp.READ, value, name)


def _h_database(a: Analyzer, name: str, node: ast.Call) -> None:
    """A database file opened by path (``sqlite3.connect(F)``, ``dbm.open(F)``): read, and
    written through the handle (``.execute('DELETE ...')``)."""
    path = a.val(a.arg(node, 0, "database" if name.startswith("sqlite3") else "file"))
    a.sink.path(FileOp.READ, path, name)
    a.sink.path(FileOp.WRITE, path, name)


def _file_op(op: FileOp, index: int = 0, kw: str = "path", recursive: bool = False) -> _Handler:
    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        a.sink.path(op, a.val(a.arg(node, index, kw)), name, recursive=recursive)

    return handler


def _copy(delete_src: bool, recursive: bool = False) -> _Handler:
    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        src = a.val(a.arg(node, 0, "src"))
        a.sink.path(FileOp.READ, src, name, recursive=recursive)
        if delete_src:
            a.sink.path(FileOp.DELETE, src, name, recursive=recursive)
        a.sink.path(FileOp.WRITE, a.val(a.arg(node, 1, "dst")), name, recursive=recursive)

    return handler


def _h_path_method(a: Analyzer, name: str, node: ast.Call) -> None:
    """``pathlib`` methods: the receiver is the path."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return
    method = func.attr
    receiver = a.scope.value(func.value)
    if method == "open":
        mode_node = a.arg(node, 0, "mode")
        for op in _modes("r" if mode_node is None else a.val(mode_node)):
            a.sink.path(op, receiver, name)
        return
    if method in ("rename", "replace"):
        a.sink.path(FileOp.READ, receiver, name)
        a.sink.path(FileOp.DELETE, receiver, name)
        a.sink.path(FileOp.WRITE, a.val(a.arg(node, 0, "target")), name)
        return
    if method in ("symlink_to", "hardlink_to"):
        a.sink.path(FileOp.WRITE, receiver, name)
        a.sink.path(FileOp.READ, a.val(a.arg(node, 0, "target")), name)
        return
    a.sink.path(_PATH_METHODS[method], receiver, name)


_PATH_METHODS = {
    "read_text": FileOp.READ,
    "read_bytes": FileOp.READ,
    "write_text": FileOp.WRITE,
    "write_bytes": FileOp.WRITE,
    "touch": FileOp.WRITE,
    "mkdir": FileOp.WRITE,
    "unlink": FileOp.DELETE,
    "rmdir": FileOp.DELETE,
    "chmod": FileOp.CHMOD,
    "lchmod": FileOp.CHMOD,
    "iterdir": FileOp.LIST,
    "glob": FileOp.LIST,
    "rglob": FileOp.LIST,
    "open": FileOp.READ,
    "rename": FileOp.WRITE,
    "replace": FileOp.WRITE,
    "symlink_to": FileOp.WRITE,
    "hardlink_to": FileOp.WRITE,
}


def method_handler(name: str) -> _Handler | None:
    """Handlers for methods on receivers not resolved to a module (``x.connect((h, p))``)."""
    head, _, method = name.rpartition(".")
    if not head:
        return None
    if method in _PATH_METHODS and (head.startswith("pathlib.") or method not in _AMBIGUOUS):
        return _h_path_method
    if method in ("connect", "connect_ex"):
        return _h_connect
    if method == "bind":
        return _h_bind
    if method == "sendto":
        return _h_sendto
    return None


_AMBIGUOUS = frozenset({"open", "glob", "rename", "replace", "chmod", "mkdir", "touch", "unlink"})


def _host_port(a: Analyzer, node: ast.expr | None) -> tuple[str | None, int | None] | None:
    if node is None:
        return None
    node = a.scope.deref(node)
    if not isinstance(node, ast.Tuple | ast.List) or len(node.elts) < 2:
        return None
    host = a.val(node.elts[0])
    port_node = a.scope.deref(node.elts[1])
    port = port_node.value if isinstance(port_node, ast.Constant) else None
    if isinstance(port, str) and port.isascii() and port.isdigit():
        port = int(port)
    return host, port if isinstance(port, int) and not isinstance(port, bool) else None


def _h_connect(a: Analyzer, name: str, node: ast.Call) -> None:
    hp = _host_port(a, a.arg(node, 0, "address"))
    if hp is None:
        if name.startswith("socket."):
            a.sink.marker("inline.dynamic-host", f"connect {name}")
        return
    a.makes_socket = True
    a.sink.host_port(NetDirection.CONNECT, hp[0], hp[1], name)


def _h_sendto(a: Analyzer, name: str, node: ast.Call) -> None:
    hp = _host_port(a, a.arg(node, 1, "address"))
    if hp is not None:
        a.sink.host_port(NetDirection.UPLOAD, hp[0], hp[1], name)


def _h_bind(a: Analyzer, name: str, node: ast.Call) -> None:
    hp = _host_port(a, a.arg(node, 0, "address"))
    if hp is not None:
        a.sink.marker("net.listen", "" if hp[1] is None else str(hp[1]))


def _h_server(a: Analyzer, name: str, node: ast.Call) -> None:
    hp = _host_port(a, a.arg(node, 0, "server_address") or a.arg(node, 0, "address"))
    a.sink.marker("net.listen", "" if hp is None or hp[1] is None else str(hp[1]))


def _h_create_connection(a: Analyzer, name: str, node: ast.Call) -> None:
    a.makes_socket = True
    _h_connect(a, name, node)


def _h_host_arg(direction: NetDirection | None) -> _Handler:
    """``http.client.HTTPConnection(host, port)``, ``smtplib.SMTP(host)``, ``ftplib.FTP(host)``;
    ``None`` direction means upload when the code stores or posts, fetch otherwise."""

    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        host = a.val(a.arg(node, 0, "host"))
        port_node = a.arg(node, 1, "port")
        port = port_node.value if isinstance(port_node, ast.Constant) else None
        if host is not None and ":" in host and port is None:
            host, _, p = host.rpartition(":")
            port = int(p) if p.isascii() and p.isdigit() else None
        d = direction or (NetDirection.UPLOAD if a.upload_hint else NetDirection.FETCH)
        if host is None and a.arg(node, 0, "host") is None:
            return  # FTP() / SMTP() with connect() later: the connect call is handled
        if isinstance(port, int) and not isinstance(port, bool):
            a.sink.host_port(d, host, port, name)
        else:
            a.sink.host_port(d, host, None, name)

    return handler


def _h_http(method: str | None) -> _Handler:
    """``requests``/``httpx``/``aiohttp`` verbs; ``None`` method: ``request(method, url)``."""

    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        verb = method
        index = 0
        if verb is None:
            verb = (a.val(a.arg(node, 0, "method")) or "").upper()
            index = 1
        url = a.val(a.arg(node, index, "url"))
        body = any(k.arg in _BODY_KWARGS for k in node.keywords)
        upload = body or verb in UPLOAD_METHODS or (verb == "" and method is None)
        a.sink.url(NetDirection.UPLOAD if upload else NetDirection.FETCH, url, name)

    return handler


def _h_urlopen(a: Analyzer, name: str, node: ast.Call) -> None:
    target = a.arg(node, 0, "url")
    data = a.arg(node, 1, "data")
    inner = a.scope.deref(target) if target is not None else None
    if isinstance(inner, ast.Call) and (a.scope.callee(inner) or "").endswith("Request"):
        if data is not None:
            a.sink.url(NetDirection.UPLOAD, a.val(a.arg(inner, 0, "url")), name)
        return  # the Request(...) call itself is handled
    direction = NetDirection.UPLOAD if data is not None else NetDirection.FETCH
    a.sink.url(direction, a.val(target), name)


def _h_request(a: Analyzer, name: str, node: ast.Call) -> None:
    method = (a.val(kw(node, "method")) or "").upper()
    upload = a.arg(node, 1, "data") is not None or method in UPLOAD_METHODS
    direction = NetDirection.UPLOAD if upload else NetDirection.FETCH
    a.sink.url(direction, a.val(a.arg(node, 0, "url")), name)


def _h_urlretrieve(a: Analyzer, name: str, node: ast.Call) -> None:
    a.sink.url(NetDirection.FETCH, a.val(a.arg(node, 0, "url")), name)
    dest = a.arg(node, 1, "filename")
    if dest is not None:
        a.sink.path(FileOp.WRITE, a.val(dest), name)


def _h_shell(index: int = 0) -> _Handler:
    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        arg = a.arg(node, index, "cmd") or a.arg(node, index, "command")
        codec = a.codec_in(arg) if arg is not None else None
        if codec is not None:
            a.sink.marker("obfuscation.decoded-exec", codec)
        a.sink.shell(None if arg is None else a.val(arg), name)

    return handler


def _h_subprocess(a: Analyzer, name: str, node: ast.Call) -> None:
    args = a.arg(node, 0, "args")
    shell = kw(node, "shell")
    shell_on = shell is not None and not (isinstance(shell, ast.Constant) and not shell.value)
    argv = a.argv_of(args)
    if argv is not None:
        if shell_on and argv:  # Popen(["cmd args"], shell=True): argv[0] is shell text
            a.sink.shell(argv[0], name)
        else:
            a.sink.argv(argv, name)
    elif args is not None:
        text = a.val(args)
        codec = a.codec_in(args)
        if codec is not None:
            a.sink.marker("obfuscation.decoded-exec", codec)
        if shell_on:
            a.sink.shell(text, name)
        else:
            a.sink.argv(None if text is None else [text], name)
    for fd in ("stdin", "stdout", "stderr"):
        stream = kw(node, fd)
        if stream is not None and _is_socketish(a, stream):
            a.sink.marker("net.socket-to-shell", "")


def _is_socketish(a: Analyzer, node: ast.expr) -> bool:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fileno"
    ):
        return (a.scope.qual(node.func.value) or "").startswith("socket.") or a.makes_socket
    return (a.scope.qual(node) or "").startswith(("socket.socket", "socket.create_connection"))


def _h_exec_v(prog_index: int, args_index: int) -> _Handler:
    """``os.execv(path, argv)``, ``os.spawnv(mode, path, argv)``, ``os.posix_spawn(path, argv)``."""

    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        prog = a.val(a.arg(node, prog_index))
        argv = a.argv_of(a.arg(node, args_index))
        if argv is None:
            a.sink.argv(None if prog is None else [prog, None], name)
        else:
            a.sink.argv([prog, *argv[1:]], name)

    return handler


def _h_exec_l(prog_index: int, env_last: bool = False) -> _Handler:
    """``os.execl(path, arg0, arg1, ...)``, ``os.spawnl(mode, path, arg0, ...)``."""

    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        args = node.args[prog_index:]
        if env_last and args:
            args = args[:-1]
        if not args:
            return
        values = [None if isinstance(x, ast.Starred) else a.val(x) for x in args]
        a.sink.argv([values[0], *values[2:]], name)

    return handler


def _h_pty_spawn(a: Analyzer, name: str, node: ast.Call) -> None:
    arg = a.arg(node, 0, "argv")
    argv = a.argv_of(arg)
    a.sink.argv(argv if argv is not None else [a.val(arg)], name)


def _h_exec_argv(a: Analyzer, name: str, node: ast.Call) -> None:
    """``asyncio.create_subprocess_exec(prog, *args)``."""
    a.sink.argv([None if isinstance(x, ast.Starred) else a.val(x) for x in node.args], name)


def _h_fork(a: Analyzer, name: str, node: ast.Call) -> None:
    if a.in_loop(node):
        a.sink.marker("resource.fork-bomb", "")


def _h_dup2(a: Analyzer, name: str, node: ast.Call) -> None:
    src = a.arg(node, 0, "fd")
    dst = a.arg(node, 1, "fd2")
    dst_fd = dst.value if isinstance(dst, ast.Constant) else None
    if isinstance(dst, ast.Call) and isinstance(dst.func, ast.Attribute):
        stream = a.scope.qual(dst.func.value)
        dst_fd = {"sys.stdin": 0, "sys.stdout": 1, "sys.stderr": 2}.get(stream or "")
    if src is None:
        return
    onto_std = dst_fd in _STD_FDS and (_is_socketish(a, src) or a.makes_socket)
    onto_any = not isinstance(dst, ast.Constant) and _is_socketish(a, src)  # for f in (0, 1, 2)
    if onto_std or onto_any:
        a.sink.marker("net.socket-to-shell", "")


def _h_exec(a: Analyzer, name: str, node: ast.Call) -> None:
    source = a.arg(node, 0, "source")
    if source is not None:
        inner = a.scope.deref(source)
        if isinstance(inner, ast.Call) and is_read(a.scope.callee(inner)):
            read = inner.func.value if isinstance(inner.func, ast.Attribute) else None
            opened = a.scope.deref(read) if read is not None else None
            if isinstance(opened, ast.Call) and opened.args:
                a.sink.path(FileOp.EXEC, a.val(opened.args[0]), name)
        a.exec_code(name, source)


def _h_dynamic(a: Analyzer, name: str, node: ast.Call) -> None:
    a.sink.marker("inline.dynamic-exec", name)


def _h_import(a: Analyzer, name: str, node: ast.Call) -> None:
    mod = a.val(a.arg(node, 0, "name"))
    if mod is None or UNKNOWN in mod:
        a.sink.marker("inline.dynamic-exec", name)


def _h_getattr(a: Analyzer, name: str, node: ast.Call) -> None:
    attr = a.val(a.arg(node, 1))
    if attr is None or UNKNOWN in attr:
        a.sink.marker("inline.dynamic-exec", "getattr")


def _h_env_get(a: Analyzer, name: str, node: ast.Call) -> None:
    a.sink.env_read(a.val(a.arg(node, 0, "key")))


def _h_putenv(a: Analyzer, name: str, node: ast.Call) -> None:
    key = a.val(a.arg(node, 0, "key"))
    value = a.val(a.arg(node, 1, "value"))
    a.sink.env_set(key or UNKNOWN, UNKNOWN if value is None else value)


def _h_env_update(a: Analyzer, name: str, node: ast.Call) -> None:
    arg = a.arg(node, 0)
    if isinstance(arg, ast.Dict):
        for k, v in zip(arg.keys, arg.values, strict=True):
            key = a.val(k) if k is not None else None
            value = a.val(v)
            a.sink.env_set(key or UNKNOWN, UNKNOWN if value is None else value)
    for kw in node.keywords:
        if kw.arg is not None:
            value = a.val(kw.value)
            a.sink.env_set(kw.arg, UNKNOWN if value is None else value)


def _table() -> dict[str, _Handler]:
    t: dict[str, _Handler] = {}
    for n in ("open", "io.open", "codecs.open", "builtins.open", "gzip.open", "bz2.open"):
        t[n] = _h_open
    t["os.open"] = _h_os_open
    for n in ("sqlite3.connect", "dbm.open", "shelve.open", "dbm.gnu.open", "dbm.ndbm.open"):
        t[n] = _h_database  # read and written: `DELETE FROM` goes through the handle
    for n in ("os.remove", "os.unlink", "os.rmdir", "os.removedirs"):
        t[n] = _file_op(FileOp.DELETE)
    t["shutil.rmtree"] = _file_op(FileOp.DELETE, recursive=True)
    for n in ("os.chmod", "os.lchmod", "os.chown", "os.lchown", "shutil.chown"):
        t[n] = _file_op(FileOp.CHMOD)
    for n in ("os.truncate", "os.mkdir", "os.makedirs", "os.mkfifo", "os.utime"):
        t[n] = _file_op(FileOp.WRITE)
    for n in ("os.listdir", "os.scandir", "os.walk", "glob.glob", "glob.iglob"):
        t[n] = _file_op(FileOp.LIST, kw="")
    for n in ("shutil.copy", "shutil.copy2", "shutil.copyfile", "os.symlink", "os.link"):
        t[n] = _copy(delete_src=False)
    t["shutil.copytree"] = _copy(delete_src=False, recursive=True)
    for n in ("shutil.move", "os.rename", "os.replace", "os.renames"):
        t[n] = _copy(delete_src=True)
    for n in ("pathlib.Path().read_text", "pathlib.Path().write_text", "pathlib.Path().open"):
        t[n] = _h_path_method
    # network
    for mod in (
        "requests",
        "httpx",
        "requests.Session()",
        "requests.session()",
        "httpx.Client()",
        "httpx.AsyncClient()",
        "aiohttp.ClientSession()",
        "urllib3.PoolManager()",
    ):
        for verb in ("get", "head", "options", "post", "put", "patch", "delete"):
            t[f"{mod}.{verb}"] = _h_http(verb.upper())
        t[f"{mod}.request"] = _h_http(None)
        t[f"{mod}.stream"] = _h_http(None)
    for n in ("urllib.request.urlopen", "urllib2.urlopen", "urllib.urlopen"):
        t[n] = _h_urlopen
    for n in ("urllib.request.Request", "urllib2.Request"):
        t[n] = _h_request
    for n in ("urllib.request.urlretrieve", "urllib.urlretrieve", "wget.download"):
        t[n] = _h_urlretrieve
    t["webbrowser.open"] = _file_op_url(NetDirection.FETCH)
    for n in (
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "httplib.HTTPConnection",
        "httplib.HTTPSConnection",
        "ftplib.FTP",
        "ftplib.FTP_TLS",
    ):
        t[n] = _h_host_arg(None)
    for n in ("smtplib.SMTP", "smtplib.SMTP_SSL"):
        t[n] = _h_host_arg(NetDirection.UPLOAD)
    for n in ("telnetlib.Telnet", "paramiko.SSHClient().connect", "asyncio.open_connection"):
        t[n] = _h_host_arg(NetDirection.CONNECT)
    for n in ("socket.socket().connect", "socket.socket().connect_ex"):
        t[n] = _h_connect
    t["socket.create_connection"] = _h_create_connection
    t["socket.socket().bind"] = _h_bind
    t["socket.socket().sendto"] = _h_sendto
    for n in (
        "socket.create_server",
        "socketserver.TCPServer",
        "socketserver.UDPServer",
        "socketserver.ThreadingTCPServer",
        "http.server.HTTPServer",
        "http.server.ThreadingHTTPServer",
        "asyncio.start_server",
    ):
        t[n] = _h_server
    # processes
    for n in ("run", "call", "check_call", "check_output", "Popen"):
        t[f"subprocess.{n}"] = _h_subprocess
    for n in (
        "os.system",
        "os.popen",
        "os.popen2",
        "os.popen3",
        "commands.getoutput",
        "commands.getstatusoutput",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "platform.popen",
        "asyncio.create_subprocess_shell",
        "pexpect.run",
        "pexpect.spawn",
    ):
        t[n] = _h_shell()
    for n in ("execv", "execve", "execvp", "execvpe"):
        t[f"os.{n}"] = _h_exec_v(0, 1)
    for n in ("spawnv", "spawnve", "spawnvp", "spawnvpe"):
        t[f"os.{n}"] = _h_exec_v(1, 2)
    for n in ("posix_spawn", "posix_spawnp"):
        t[f"os.{n}"] = _h_exec_v(0, 1)
    for n in ("execl", "execlp"):
        t[f"os.{n}"] = _h_exec_l(0)
    for n in ("execle", "execlpe"):
        t[f"os.{n}"] = _h_exec_l(0, env_last=True)
    for n in ("spawnl", "spawnlp"):
        t[f"os.{n}"] = _h_exec_l(1)
    for n in ("spawnle", "spawnlpe"):
        t[f"os.{n}"] = _h_exec_l(1, env_last=True)
    t["pty.spawn"] = _h_pty_spawn
    t["asyncio.create_subprocess_exec"] = _h_exec_argv
    for n in ("os.fork", "os.forkpty", "pty.fork", "multiprocessing.Process"):
        t[n] = _h_fork
    t["os.dup2"] = _h_dup2
    # dynamic code
    for n in ("exec", "eval", "compile", "execfile", "builtins.exec", "builtins.eval"):
        t[n] = _h_exec
    for n in ("__import__", "importlib.import_module"):
        t[n] = _h_import
    t["getattr"] = _h_getattr
    for n in (
        "marshal.loads",
        "pickle.loads",
        "types.FunctionType",
        "types.CodeType",
        "ctypes.CDLL",
        "ctypes.cdll.LoadLibrary",
        "runpy.run_module",
    ):
        t[n] = _h_dynamic
    t["runpy.run_path"] = _file_op(FileOp.EXEC, kw="path_name")
    # environment
    for n in ("os.getenv", "os.environ.get", "os.environ.pop"):
        t[n] = _h_env_get
    for n in ("os.putenv", "os.environ.setdefault"):
        t[n] = _h_putenv
    t["os.environ.update"] = _h_env_update
    return t


def _file_op_url(direction: NetDirection) -> _Handler:
    def handler(a: Analyzer, name: str, node: ast.Call) -> None:
        a.sink.url(direction, a.val(a.arg(node, 0, "url")), name)

    return handler


HANDLERS = _table()


def _star_names() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for key in HANDLERS:
        mod, _, name = key.rpartition(".")
        if mod and "(" not in mod and "(" not in name:
            out.setdefault(mod, set()).add(name)
    out.setdefault("os", set()).add("environ")
    out.setdefault("socket", set()).add("socket")
    return {k: frozenset(v) for k, v in out.items()}


STAR_NAMES = _star_names()
