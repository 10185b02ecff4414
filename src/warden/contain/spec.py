"""What one ``warden run`` confines, resolved from the policy into absolute, existing paths.

:func:`build_spec` is pure except for reading the file system (which paths exist, globs in
``hide``): the supervisor and the child both work from the one frozen :class:`SandboxSpec`, and
``warden run --dry-run`` prints it, so a user sees exactly what the program will see.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from warden.check.policy.load import Policy
from warden.errors import InputError

__all__ = [
    "ENV_STRIPPED",
    "SandboxSpec",
    "build_spec",
    "new_session_id",
]

#: Environment variables not passed to the contained program: credentials that grant access
#: beyond the task, and addresses of host services (sockets it must not reach). The agent's own
#: model API key (``*_API_KEY``) is kept: the agent needs it. ``--pass-env NAME`` keeps one.
ENV_STRIPPED: tuple[str, ...] = (
    "AWS_*", "AZURE_*", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_*", "GH_TOKEN",
    "GITHUB_TOKEN", "GITLAB_TOKEN", "GL_TOKEN", "HF_TOKEN", "NPM_TOKEN", "PYPI_TOKEN",
    "TWINE_PASSWORD", "VAULT_TOKEN", "DOCKER_AUTH_CONFIG", "*_PASSWORD", "*_PASSWD", "*_SECRET",
    "*_SECRET_KEY", "*_PRIVATE_KEY", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO",
    "DBUS_SESSION_BUS_ADDRESS", "DOCKER_HOST", "KUBECONFIG", "XDG_RUNTIME_DIR",
    "WAYLAND_DISPLAY", "DISPLAY", "XAUTHORITY",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy",
)  # fmt: skip

#: Always provided inside: private, writable, empty at start.
PRIVATE_DIRS = ("/tmp", "/run", "/dev/shm")


def new_session_id() -> str:
    """A short, unguessable session id (also the cgroup's name)."""
    return "run-" + secrets.token_hex(5)


@dataclass(frozen=True)
class SandboxSpec:
    """Everything the child needs to confine itself; absolute paths, resolved once."""

    session: str
    argv: tuple[str, ...]
    workspace: str
    cwd: str
    env: Mapping[str, str]
    read: tuple[str, ...]
    write: tuple[str, ...]
    hide: tuple[str, ...]
    protect: tuple[str, ...]
    #: protect paths that did not exist and were created (empty dirs) to be protected
    create_protected: tuple[str, ...]
    #: hide paths beneath a writable path that did not exist: created (0700) before the run and
    #: hidden, so the program cannot create them either (warden's own cache under ~/.cache)
    create_hidden: tuple[str, ...]
    egress: tuple[str, ...]
    unix_sockets: bool
    memory: int | None
    pids: int | None
    cpu_seconds: int | None
    policy_digest: str
    stripped_env: tuple[str, ...] = field(default=())
    #: record every exec of the tree in the audit log (seccomp user notification), and judge
    #: each with the check engine: a KILL verdict kills the whole tree
    record_exec: bool = True

    def to_json(self) -> dict[str, object]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["env"] = sorted(self.env)  # names only: values may be secret
        return data


def _expand(path: str, home: str, workspace: str) -> str:
    if path.startswith("$WORKSPACE"):
        path = workspace + path[len("$WORKSPACE") :]
    elif path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return os.path.normpath(path)


def _is_dir_name(path: str) -> bool:
    """A name without a file extension (``.claude``, ``hooks``, ``warden``): a directory."""
    return not os.path.splitext(os.path.basename(path))[1]


def _beneath(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _env(
    base: Mapping[str, str], keep: Sequence[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    env: dict[str, str] = {}
    stripped: list[str] = []
    for name, value in base.items():
        if name not in keep and any(fnmatch.fnmatchcase(name, pat) for pat in ENV_STRIPPED):
            stripped.append(name)
            continue
        env[name] = value
    return env, tuple(sorted(stripped))


def build_spec(
    policy: Policy,
    argv: Sequence[str],
    *,
    workspace: str,
    cwd: str | None = None,
    extra_read: Sequence[str] = (),
    extra_write: Sequence[str] = (),
    pass_env: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    home: str | None = None,
    session: str | None = None,
) -> SandboxSpec:
    """Resolve the policy's ``[contain]`` section for one run of ``argv`` in ``workspace``."""
    if not argv:
        raise InputError("nothing to run: give a command after --, e.g. warden run -- pytest")
    if not os.path.isdir(workspace):
        raise InputError(f"workspace {workspace!r} is not a directory")
    ws = os.path.realpath(workspace)
    if ws == "/":
        raise InputError("the workspace cannot be / (the program could write everywhere)")
    home = home or os.path.expanduser("~")
    cwd = os.path.realpath(cwd or os.getcwd())
    if not _beneath(cwd, [ws]):
        cwd = ws
    c = policy.contain

    def resolve(paths: Sequence[str]) -> list[str]:
        out = []
        for raw in paths:
            p = _expand(raw, home, ws)
            if not p.startswith("/"):
                raise InputError(f"path {raw!r} must be absolute (or start with ~ or $WORKSPACE)")
            out.append(p)
        return out

    write = [ws, *resolve([*c.write, *extra_write])]
    read = [p for p in resolve([*c.read, *extra_read]) if not _beneath(p, write)]
    visible = [*read, *write]
    hide: list[str] = []
    create_hidden: list[str] = []
    for p in resolve(c.hide):
        matches = glob.glob(glob.escape(p) if not glob.has_magic(p) else p)
        hide += [m for m in matches if _beneath(m, visible)]
        if not matches and not glob.has_magic(p) and _beneath(p, write) and _is_dir_name(p):
            hide.append(p)
            create_hidden.append(p)
    protect: list[str] = []
    created: list[str] = []
    for p in resolve(c.protect):
        if not _beneath(p, write):
            continue  # not writable anyway
        if os.path.lexists(p):
            protect.append(p)
        elif _beneath(p, [ws]) and os.path.isdir(os.path.dirname(p)) and _is_dir_name(p):
            # a settings directory the agent could create and fill: an empty, read-only one
            # is put in its place for the run (removed afterwards if still empty)
            protect.append(p)
            created.append(p)
    env, stripped = _env(os.environ if environ is None else environ, pass_env)
    return SandboxSpec(
        session=session or new_session_id(),
        argv=tuple(argv),
        workspace=ws,
        cwd=cwd,
        env=env,
        read=tuple(dict.fromkeys(p for p in read if os.path.exists(p))),
        write=tuple(dict.fromkeys(p for p in write if os.path.exists(p))),
        hide=tuple(dict.fromkeys(hide)),
        protect=tuple(dict.fromkeys(protect)),
        create_protected=tuple(created),
        create_hidden=tuple(create_hidden),
        egress=policy.egress,
        unix_sockets=c.unix_sockets,
        memory=c.memory,
        pids=c.pids,
        cpu_seconds=c.cpu_seconds,
        policy_digest=policy.digest,
        stripped_env=stripped,
    )
