"""Name and value resolution for Python inline code: who a call really calls, what a string is.

:class:`Scope` is built from one parsed module. It resolves import aliases (``import os as o``,
``from os import system as s``, ``from subprocess import *``, ``__import__('os')``,
``importlib.import_module('os')``, ``getattr(os, 'system')``) and single assignments
(``s = socket.socket()`` makes ``s.connect`` resolve to ``socket.socket().connect``), and
evaluates string expressions: literals, ``+``, ``%``, ``str.format``, f-strings, ``os.path.join``,
``pathlib`` ``/``, ``os.path.expanduser``, ``os.environ['HOME']`` (kept as ``$HOME``) and
decoders of literal payloads (``base64.b64decode('...')``). Flow-insensitive by design: a name
assigned more than once has no known value.
"""

from __future__ import annotations

import ast
import re

from warden.check.shell.inline_sink import UNKNOWN, decode_payload

__all__ = ["DECODERS", "ENVIRON", "Scope"]

ENVIRON = "os.environ"

# Callee -> codec understood by inline_sink.decode_payload ("" when it cannot be decoded here).
DECODERS: dict[str, str] = {
    "base64.b64decode": "base64",
    "base64.decodebytes": "base64",
    "base64.decodestring": "base64",
    "base64.standard_b64decode": "base64",
    "base64.urlsafe_b64decode": "base64url",
    "base64.b32decode": "base32",
    "base64.b16decode": "hex",
    "base64.b85decode": "",
    "base64.a85decode": "",
    "binascii.a2b_base64": "base64",
    "binascii.unhexlify": "hex",
    "binascii.a2b_hex": "hex",
    "bytes.fromhex": "hex",
    "bytearray.fromhex": "hex",
    "zlib.decompress": "zlib",
    "gzip.decompress": "zlib",
    "bz2.decompress": "",
    "lzma.decompress": "",
    "marshal.loads": "",
    "codecs.decode": "?",  # codec named by the second argument
    "codecs.encode": "?",
}
_CODEC_NAMES = {
    "base64": "base64",
    "base_64": "base64",
    "base64_codec": "base64",
    "hex": "hex",
    "hex_codec": "hex",
    "rot13": "rot13",
    "rot_13": "rot13",
    "zlib": "zlib",
    "zip": "zlib",
    "zlib_codec": "zlib",
}
_BUILTINS = frozenset(
    {"open", "exec", "eval", "compile", "__import__", "getattr", "execfile", "input", "print"}
)
_PASS_THROUGH = frozenset(
    {
        "os.path.expanduser",
        "os.path.expandvars",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "os.fsencode",
        "os.fsdecode",
        "str",
        "bytes",
        "pathlib.Path().expanduser",
        "pathlib.Path().resolve",
        "pathlib.Path().absolute",
    }
)
_PATH_CTORS = frozenset(
    {"os.path.join", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "posixpath.join"}
)
_FORMAT_SPEC = re.compile(r"%[-#0 +]{0,4}[0-9]{0,4}(?:\.[0-9]{1,4})?[sdrifxXeEgGcaou%]")
_BRACES = re.compile(r"\{[^{}]{0,64}\}")
_MAX_DEPTH = 48  # nesting of value/qualname resolution (deeper -> unknown)
_MAX_VALUE = 64 * 1024  # longest string evaluated (a = b + b doubling cannot exhaust memory)


class Scope:
    """Aliases and single assignments of one module, and resolution over them."""

    def __init__(self, star_names: dict[str, frozenset[str]]) -> None:
        """An empty scope; feed it every node with :meth:`collect` before resolving names."""
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.assigned: dict[str, ast.expr] = {}
        self.multi: set[str] = set()
        self._star_names = star_names
        self._active: set[str] = set()
        self._memo: dict[str, str | None] = {}
        self._qual_memo: dict[str, str | None] = {}

    # -- collection -------------------------------------------------------------------------
    def collect(self, node: ast.AST) -> None:
        """Record the imports and bindings ``node`` makes (not its children)."""
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    head = a.name.split(".", 1)[0]
                    self.aliases[head] = head
        elif isinstance(node, ast.ImportFrom):
            mod = "." * node.level + (node.module or "")
            for a in node.names:
                if a.name == "*":
                    self.star_modules.append(mod)
                else:
                    self.aliases[a.asname or a.name] = f"{mod}.{a.name}"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            self._bind(node.target, node.value)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self._bind(node.optional_vars, node.context_expr)
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.comprehension):
            self._bind(node.target, None)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.multi.add(node.name)
        elif isinstance(node, ast.arg):
            self.multi.add(node.arg)

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            name = target.id
            if value is None or name in self.assigned or name in self.multi:
                self.multi.add(name)
            self.assigned[name] = value if value is not None else ast.Constant(None)
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            for i, elt in enumerate(target.elts):
                sub = values[i] if values is not None and i < len(values) else None
                self._bind(elt, sub)

    def deref(self, node: ast.expr) -> ast.expr:
        """Follow a name to its single assigned expression (or return the node itself)."""
        seen = 0
        while isinstance(node, ast.Name) and node.id in self.assigned and seen < 8:
            if node.id in self.multi and not isinstance(self.assigned[node.id], ast.Call):
                return node
            node = self.assigned[node.id]
            seen += 1
        return node

    # -- qualified names --------------------------------------------------------------------
    def qual(self, node: ast.expr, depth: int = 0) -> str | None:
        """The dotted name a callee or receiver resolves to, e.g. ``socket.socket().connect``."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            return self._qual_name(node.id, depth)
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value, depth + 1)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self._qual_call(node, depth)
        if isinstance(node, ast.Subscript):
            base = self.qual(node.value, depth + 1)
            key = self.value(node.slice, depth + 1)
            if base == "sys.modules" and key and UNKNOWN not in key:
                return key
            if base in ("builtins", "builtins.__dict__", "globals()", "vars()"):
                if key == "__builtins__":
                    return "builtins"
                return key if key and UNKNOWN not in key else None
        return None

    def _qual_name(self, name: str, depth: int) -> str | None:
        if name in self.aliases:
            return self.aliases[name]
        if name in self._qual_memo:
            return self._qual_memo[name]
        if name in self.assigned and name not in self._active:
            self._active.add(name)
            try:
                value = self.assigned[name]
                result = None
                if isinstance(value, ast.Name | ast.Attribute | ast.Call | ast.Subscript):
                    result = self.qual(value, depth + 1)
            finally:
                self._active.discard(name)
            self._qual_memo[name] = result
            return result
        for mod in self.star_modules:
            if name in self._star_names.get(mod, frozenset()):
                return f"{mod}.{name}"
        if name == "__builtins__" or name == "builtins":
            return "builtins"
        return name

    def _qual_call(self, node: ast.Call, depth: int) -> str | None:
        func = self.qual(node.func, depth + 1)
        if func is None:
            return None
        func = func.removeprefix("builtins.")
        if func in ("__import__", "importlib.import_module", "importlib.__import__"):
            mod = self.value(node.args[0], depth + 1) if node.args else None
            return mod if mod and UNKNOWN not in mod else None
        if func == "getattr" and len(node.args) >= 2:
            base = self.qual(node.args[0], depth + 1)
            attr = self.value(node.args[1], depth + 1)
            if base and attr and UNKNOWN not in attr:
                return f"{base}.{attr}"
            return None
        return f"{func}()"

    def callee(self, node: ast.Call) -> str | None:
        """The qualified callee of a call, with ``builtins.`` dropped."""
        q = self.qual(node.func)
        return q.removeprefix("builtins.") if q else None

    # -- string values ----------------------------------------------------------------------
    def value(self, node: ast.expr | None, depth: int = 0) -> str | None:
        """The string an expression evaluates to; :data:`UNKNOWN` marks computed parts and
        ``None`` means nothing is known."""
        if node is None or depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return node.value
            if isinstance(node.value, bytes):
                return node.value.decode("latin-1")
            if isinstance(node.value, int) and not isinstance(node.value, bool):
                return str(node.value)
            return None
        if isinstance(node, ast.Name):
            return self._value_name(node.id, depth)
        if isinstance(node, ast.JoinedStr):
            return "".join(self._part(v, depth) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self._part(node.value, depth)
        if isinstance(node, ast.BinOp):
            return self._value_binop(node, depth)
        if isinstance(node, ast.Subscript):
            return self._value_subscript(node, depth)
        if isinstance(node, ast.Call):
            return self._value_call(node, depth)
        if isinstance(node, ast.Attribute) and node.attr in ("sep", "altsep"):
            return "/" if self.qual(node, depth + 1) in _SEPARATORS else None
        return None

    def _part(self, node: ast.expr, depth: int) -> str:
        v = self.value(node, depth + 1)
        return UNKNOWN if v is None else v

    def _value_name(self, name: str, depth: int) -> str | None:
        if name in self._memo:
            return self._memo[name]
        if name in self.multi or name not in self.assigned or name in self._active:
            return None
        self._active.add(name)
        try:
            result = self.value(self.assigned[name], depth + 1)
        finally:
            self._active.discard(name)
        self._memo[name] = result
        return result

    def _value_binop(self, node: ast.BinOp, depth: int) -> str | None:
        left = self.value(node.left, depth + 1)
        if isinstance(node.op, ast.Add):
            right = self.value(node.right, depth + 1)
            if left is None and right is None:
                return None
            out = (UNKNOWN if left is None else left) + (UNKNOWN if right is None else right)
            return out if len(out) <= _MAX_VALUE else out[:_MAX_VALUE] + UNKNOWN
        if isinstance(node.op, ast.Div) and left is not None:  # pathlib: Path(a) / "b"
            right = self.value(node.right, depth + 1)
            return f"{left.rstrip('/')}/{UNKNOWN if right is None else right}"
        if isinstance(node.op, ast.Mod) and left is not None:
            args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            return _format_percent(left, [self._part(a, depth) for a in args])
        if isinstance(node.op, ast.Mult) and left is not None:
            return None
        return None

    def _value_subscript(self, node: ast.Subscript, depth: int) -> str | None:
        if self.qual(node.value, depth + 1) == ENVIRON:
            return _env_value(self.value(node.slice, depth + 1))
        sl = node.slice
        if (
            isinstance(sl, ast.Slice)
            and sl.lower is None
            and sl.upper is None
            and isinstance(sl.step, ast.UnaryOp)
            and isinstance(sl.step.op, ast.USub)
            and isinstance(sl.step.operand, ast.Constant)
            and sl.step.operand.value == 1
        ):
            inner = self.value(node.value, depth + 1)
            return inner[::-1] if inner is not None and UNKNOWN not in inner else None
        return None

    def _value_call(self, node: ast.Call, depth: int) -> str | None:
        func = node.func
        args = node.args
        # Methods on string values: "sep".join, "fmt".format, b.decode(), s.encode(), s.strip()
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr in ("decode", "encode") and not self._is_codec_call(node):
                return self.value(func.value, depth + 1)
            if attr in ("strip", "lstrip", "rstrip") and not args:
                inner = self.value(func.value, depth + 1)
                return inner.strip() if inner is not None and attr == "strip" else inner
            if attr == "format":
                fmt = self.value(func.value, depth + 1)
                if fmt is not None and isinstance(func.value, ast.Constant):
                    parts = [self._part(a, depth) for a in args]
                    parts += [self._part(k.value, depth) for k in node.keywords]
                    return _format_braces(fmt, parts)
            if attr == "join" and len(args) == 1 and isinstance(args[0], ast.List | ast.Tuple):
                # "/".join([...]), chr(47).join([...]), os.sep.join([...]), SEP.join([...])
                sep = self.value(func.value, depth + 1)
                if sep is not None and UNKNOWN not in sep:
                    return sep.join(self._part(e, depth) for e in args[0].elts)
        name = self.callee(node)
        if name is None:
            return None
        if name in _PASS_THROUGH or name.endswith(
            (".expanduser", ".resolve", ".absolute", ".as_posix")
        ):
            if isinstance(func, ast.Attribute) and not args and name.startswith("pathlib"):
                return self.value(func.value, depth + 1)
            if isinstance(func, ast.Attribute) and not args:
                return self.value(func.value, depth + 1)
            return self.value(args[0], depth + 1) if args else None
        if name in _PATH_CTORS or name.endswith(".joinpath"):
            parts = [self._part(a, depth) for a in args]
            if name.endswith(".joinpath") and isinstance(func, ast.Attribute):
                parts.insert(0, self._part(func.value, depth))
            return _join(parts) if parts else "."
        if name in ("pathlib.Path.home", "os.path.expanduser('~')"):
            return "~"
        if name in ("os.getcwd", "pathlib.Path.cwd"):
            return "."
        if name in ("os.environ.get", "os.getenv"):
            return _env_value(self.value(args[0], depth + 1) if args else None)
        if name == "chr" and args:
            code = args[0]
            if isinstance(code, ast.Constant) and isinstance(code.value, int):
                return chr(code.value) if 0 <= code.value < 0x110000 else None
        codec = self.codec(node)
        if codec is not None:
            data = self.value(args[0], depth + 1) if args else None
            if data is None or UNKNOWN in data:
                return None
            return decode_payload(codec, data)
        return None

    def _is_codec_call(self, node: ast.Call) -> bool:
        return self.codec(node) is not None

    def codec(self, node: ast.Call) -> str | None:
        """The codec a decoding call applies (``"base64"``, ...), ``""`` when it is a decoder
        this module cannot reproduce, ``None`` when the call does not decode."""
        func = node.func
        name = self.callee(node)
        if name is None or name not in DECODERS:
            if isinstance(func, ast.Attribute) and func.attr == "decode" and node.args:
                # Python 2: payload.decode("base64"), .decode("hex"), .decode("rot13")
                spec = self.value(node.args[0])
                if spec is not None:
                    return _CODEC_NAMES.get(spec.lower().replace("-", "_"))
            return None
        codec = DECODERS[name]
        if codec == "?":
            arg = node.args[1] if len(node.args) > 1 else _kw(node, "encoding")
            spec = self.value(arg) if arg is not None else None
            if spec is None:
                return "" if name == "codecs.decode" else None
            return _CODEC_NAMES.get(spec.lower().replace("-", "_"))
        return codec


def _kw(node: ast.Call, name: str) -> ast.expr | None:
    for k in node.keywords:
        if k.arg == name:
            return k.value
    return None


def _env_value(name: str | None) -> str:
    """``$HOME`` stays symbolic for the path normaliser; other variables are unknown."""
    return "$HOME" if name == "HOME" else UNKNOWN


#: The path separator as a module attribute (``os.sep.join(["", "etc", "shadow"])``).
_SEPARATORS = frozenset({"os.sep", "os.path.sep", "posixpath.sep", "os.altsep"})


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out = p if p.startswith("/") or not out else f"{out.rstrip('/')}/{p}"
    return out


def _format_percent(fmt: str, values: list[str]) -> str:
    it = iter(values)

    def sub(m: re.Match[str]) -> str:
        return "%" if m.group(0) == "%%" else next(it, UNKNOWN)

    return _FORMAT_SPEC.sub(sub, fmt)


def _format_braces(fmt: str, values: list[str]) -> str:
    it = iter(values)
    return _BRACES.sub(lambda _m: next(it, UNKNOWN), fmt)
