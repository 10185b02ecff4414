"""Python inline code (``python -c``, ``python - <<EOF``) analysed with :mod:`ast`.

Every call is resolved to a qualified name through :class:`~.inline_pyscope.Scope` and looked up
in :data:`_HANDLERS`; subscripts and assignments of ``os.environ``, loops around ``os.fork`` and
``os.dup2`` onto standard descriptors are recognised structurally. Code that does not parse
(Python 2, a truncated here-document) is scanned with the conservative token scanner instead,
with an ``analysis.incomplete`` marker.
"""

from __future__ import annotations

import ast
import shlex
import warnings

from warden.check.shell.inline_pyrules import (
    HANDLERS,
    STAR_NAMES,
    UPLOAD_METHODS,
    is_read,
    kw,
    method_handler,
)
from warden.check.shell.inline_pyscope import ENVIRON, Scope
from warden.check.shell.inline_scan import analyze_scanned
from warden.check.shell.inline_sink import MAX_DECODE_DEPTH, UNKNOWN, Recurse, Sink, as_text

__all__ = ["Analyzer", "analyze_python"]


def _receiver(node: ast.Call) -> ast.expr | None:
    return node.func.value if isinstance(node.func, ast.Attribute) else None


def analyze_python(sink: Sink, code: str, *, depth: int, recurse: Recurse) -> None:
    """Analyse Python ``code`` into ``sink``."""
    try:
        with warnings.catch_warnings():
            # the compiler warns on odd literals (`1if x`); the agent's code is data here, and
            # a hook's stderr may be shown to the agent
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        sink.marker("analysis.incomplete", "python syntax error")
        analyze_scanned(sink, "python", code, depth=depth, recurse=recurse)
        return
    Analyzer(sink, tree, depth, recurse).run()


class Analyzer:
    """One parsed module: resolves every call and dispatches it to its handler."""

    def __init__(self, sink: Sink, tree: ast.Module, depth: int, recurse: Recurse) -> None:
        self.sink = sink
        self.tree = tree
        self.depth = depth
        self.recurse = recurse
        self.scope = Scope(STAR_NAMES)
        # Parents of the few nodes whose context matters (os.environ uses), not of every node.
        self.parents: dict[ast.AST, ast.AST] = {}
        self.looped: set[ast.Call] = set()  # calls inside a loop body
        self.makes_socket = False
        self.upload_hint = False  # an http.client .request("POST"...) / ftplib store in the code

    def run(self) -> None:
        calls: list[ast.Call] = []
        env_nodes: list[ast.Subscript | ast.Attribute] = []
        collect = self.scope.collect
        # One iterative pass (no recursion, so deep nesting cannot overflow the stack).
        stack: list[tuple[ast.AST, ast.AST | None, bool]] = [(self.tree, None, False)]
        while stack:
            node, parent, in_loop = stack.pop()
            kind = type(node)
            if kind is ast.Call:
                calls.append(node)  # type: ignore[arg-type]
                if in_loop:
                    self.looped.add(node)  # type: ignore[arg-type]
            elif kind is ast.Subscript or (kind is ast.Attribute and node.attr == "environ"):  # type: ignore[attr-defined]
                env_nodes.append(node)  # type: ignore[arg-type]
                if parent is not None:
                    self.parents[node] = parent
            elif kind in _SCOPE_NODES:
                collect(node)
            if kind is ast.Attribute and node.attr in _ESCAPE_ATTRS:  # type: ignore[attr-defined]
                # ().__class__.__base__.__subclasses__(), f.__globals__: reaching os without
                # importing it, a sandbox-escape gadget this analysis cannot follow.
                self.sink.marker("inline.dynamic-exec", node.attr)  # type: ignore[attr-defined]
            if kind in _LOOPS:
                in_loop = True
            elif kind in _FUNCS:
                in_loop = False
            fields = _CHILD_FIELDS.get(kind)
            if fields is None:  # a node's fields less ``ctx`` (a shared Load/Store/Del leaf)
                fields = _CHILD_FIELDS[kind] = tuple(f for f in node._fields if f != "ctx")
            for field in fields:
                value = getattr(node, field, None)
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, ast.AST):
                            stack.append((item, node, in_loop))
                elif isinstance(value, ast.AST):
                    stack.append((value, node, in_loop))
        resolved: list[tuple[str, ast.Call]] = []
        for node in reversed(calls):
            name = self.scope.callee(node)
            if name is None and isinstance(node.func, ast.Attribute):
                name = f"?.{node.func.attr}"  # a method on a computed receiver
            if name is not None:
                resolved.append((name, node))
                self._hints(name, node)
        for name, node in resolved:
            handler = HANDLERS.get(name) or method_handler(name)
            if handler is not None:
                handler(self, name, node)
        for env_node in reversed(env_nodes):
            self._environ(env_node)

    def _hints(self, name: str, node: ast.Call) -> None:
        if name.startswith("socket.socket") or name == "socket.create_connection":
            self.makes_socket = True
        if name.endswith((".storbinary", ".storlines", ".putrequest")):
            self.upload_hint = True
        if name.endswith(".request") and node.args:
            method = self.scope.value(node.args[0])
            if (method or "").upper() in UPLOAD_METHODS or kw(node, "body") is not None:
                self.upload_hint = True

    # -- helpers ----------------------------------------------------------------------------
    def arg(self, node: ast.Call, index: int, name: str = "") -> ast.expr | None:
        if index < len(node.args) and not any(
            isinstance(a, ast.Starred) for a in node.args[: index + 1]
        ):
            return node.args[index]
        return kw(node, name) if name else None

    def val(self, node: ast.expr | None) -> str | None:
        return None if node is None else self.scope.value(node)

    def argv_of(self, node: ast.expr | None) -> list[str | None] | None:
        """Elements of a list/tuple argv (``None`` elements are computed)."""
        if node is None:
            return None
        node = self.scope.deref(node)
        if isinstance(node, ast.Call) and self._is_split(node):
            text = self.val(node.args[0] if node.args else _receiver(node))
            if text is None or UNKNOWN in text:
                return None
            try:
                return list(shlex.split(text))
            except ValueError:  # unbalanced quotes
                return list(text.split())
        if isinstance(node, ast.List | ast.Tuple):
            out: list[str | None] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    out.append(None)
                else:
                    out.append(self.val(elt))
            return out
        return None

    def _is_split(self, node: ast.Call) -> bool:
        """``"ls -la".split()`` or ``shlex.split("ls -la")``: an argv made from one literal."""
        if self.scope.callee(node) == "shlex.split":
            return True
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "split"
            and (
                not node.args
                or (isinstance(node.args[0], ast.Constant) and node.args[0].value == " ")
            )
            and isinstance(
                self.scope.deref(node.func.value), ast.Constant | ast.JoinedStr | ast.BinOp
            )
        )

    def in_loop(self, node: ast.Call) -> bool:
        return node in self.looped

    def codec_in(self, node: ast.expr) -> str | None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                codec = self.scope.codec(sub)
                if codec is not None:
                    return codec or "unknown"
        return None

    def exec_code(self, callee: str, node: ast.expr | None) -> None:
        """``exec``/``eval``/``compile`` of an expression: follow literal code, flag the rest."""
        if node is None:
            return
        codec = self.codec_in(node)
        if codec is not None:
            self.sink.marker("obfuscation.decoded-exec", codec)
        inner = self.scope.deref(node)
        if isinstance(inner, ast.Call) and is_read(self.scope.callee(inner)):
            self.sink.marker("inline.dynamic-exec", callee)
            return
        code = self.val(node)
        if code is None or UNKNOWN in code:
            self.sink.marker("inline.dynamic-exec", callee)
            return
        if self.depth >= MAX_DECODE_DEPTH:
            self.sink.marker("analysis.incomplete", "decoded payload nesting too deep")
            return
        self.recurse(self.sink, "python", as_text(code), depth=self.depth + 1)

    def _environ(self, node: ast.Subscript | ast.Attribute) -> None:
        if isinstance(node, ast.Subscript):
            if self.scope.qual(node.value) != ENVIRON:
                return
            key = self.val(node.slice)
            if isinstance(node.ctx, ast.Store):
                parent = self.parents.get(node)
                value = self.val(parent.value) if isinstance(parent, ast.Assign) else None
                self.sink.env_set(key or UNKNOWN, UNKNOWN if value is None else value)
            elif isinstance(node.ctx, ast.Load):
                self.sink.env_read(key)
            return
        if self.scope.qual(node) != ENVIRON:
            return
        parent = self.parents.get(node)
        if isinstance(parent, ast.Subscript | ast.Attribute):
            if isinstance(parent, ast.Attribute) and parent.attr in _ENV_DUMP_METHODS:
                self.sink.env_read(None)
            return
        if isinstance(parent, ast.keyword) and parent.arg == "env":
            return
        self.sink.env_read(None)  # the whole environment used as a value: printed, sent, dumped


_SCOPE_NODES = frozenset(
    {
        ast.Import,
        ast.ImportFrom,
        ast.Assign,
        ast.AnnAssign,
        ast.NamedExpr,
        ast.withitem,
        ast.AugAssign,
        ast.For,
        ast.AsyncFor,
        ast.comprehension,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.arg,
    }
)
#: Per node class, the fields the walk in :meth:`run` descends into: all but ``ctx``, whose
#: value is a shared ``Load``/``Store``/``Del`` leaf that none of the walk's tests can select
#: (skipping it is a third fewer stack steps on typical one-liners; same calls, same order).
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_ESCAPE_ATTRS = frozenset({"__subclasses__", "__globals__", "__code__", "__builtins__"})
_LOOPS = frozenset({ast.While, ast.For, ast.AsyncFor})
_FUNCS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
_ENV_DUMP_METHODS = frozenset({"copy", "items", "keys", "values", "__repr__", "__str__"})
