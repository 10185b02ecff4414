"""Container tools: docker/podman/nerdctl and kubectl/oc.

``docker run`` options that break isolation (``--privileged``, host namespaces, mounts of ``/``
or the docker socket, dangerous capabilities, devices) become ``container.escape``; the command
run inside the container is ``shell_code`` (shell-quoted) with ``remote=True``.
"""

from __future__ import annotations

import shlex

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, is_url, parse

__all__ = ["HANDLERS"]

_DOCKER_RUN = Grammar(
    "-v -e -p -w -u -h -m -l -a -c --volume --env --publish --workdir --user --hostname --name"
    " --network --net --pid --ipc --uts --userns --cap-add --cap-drop --security-opt --device"
    " --mount --entrypoint --env-file --label --memory --cpus --restart --platform --add-host"
    " --dns --log-driver --log-opt --tmpfs --ulimit --cgroupns --runtime --gpus --volumes-from"
    " --cidfile --label-file --health-cmd --shm-size --stop-signal --pull --init-path --link"
    " --expose --network-alias --ip --ip6 --mac-address --oom-score-adj --storage-opt --sysctl"
    " --cpuset-cpus --cpu-shares --memory-swap --pids-limit --stop-timeout --group-add"
    " --detach-keys --attach --isolation --blkio-weight --health-interval --health-retries"
    " --health-timeout --domainname --annotation --cpu-period --cpu-quota --kernel-memory",
    posix=True,
)
_SENSITIVE_MOUNTS = (
    "/",
    "/etc",
    "/root",
    "/home",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/proc",
    "/sys",
    "/dev",
    "/var/lib/docker",
    "/boot",
    "/usr",
    "/var",
    "/run",
)
_DANGEROUS_CAPS = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "SYS_PTRACE",
        "SYS_MODULE",
        "DAC_READ_SEARCH",
        "NET_ADMIN",
        "SYS_RAWIO",
        "DAC_OVERRIDE",
    }
)


def _inside(acc: Acc, command: list[str]) -> None:
    """A command run inside a container: handed on as quoted shell text with ``remote`` set, so
    its paths are not mistaken for the host's (escapes are flagged separately)."""
    if command:
        acc.code(shlex.join(command))
        acc.remote = True


def _registry_of(image: str) -> str:
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _docker_run(acc: Acc, words: list[str]) -> None:
    parsed = parse(words, _DOCKER_RUN)
    if parsed.has("--privileged"):
        acc.mark("container.escape", "--privileged")
    for opt, value in parsed.opts:
        if value is None:
            continue
        if opt in ("-v", "--volume", "--mount"):
            source = value.split(",")[0].partition("=")[2] if opt == "--mount" else value
            source = source.partition(":")[0] if opt != "--mount" else source
            for part in value.split(","):
                if part.startswith(("source=", "src=")):
                    source = part.partition("=")[2]
            if source.rstrip("/") in _SENSITIVE_MOUNTS or source == "/":
                acc.mark("container.escape", f"{opt} {value}")
            if source.startswith(("/", "~", ".", "$")):
                acc.file(FileOp.READ, source, recursive=True)
                if not value.endswith(":ro"):
                    acc.file(FileOp.WRITE, source, recursive=True)
        elif opt in ("--pid", "--net", "--network", "--ipc", "--uts", "--userns", "--cgroupns"):
            if value == "host":
                acc.mark("container.escape", f"{opt}=host")
        elif opt == "--cap-add" and value.upper().removeprefix("CAP_") in _DANGEROUS_CAPS:
            acc.mark("container.escape", f"--cap-add={value}")
        elif opt == "--security-opt" and "unconfined" in value:
            acc.mark("container.escape", f"--security-opt={value}")
        elif opt == "--device":
            acc.mark("container.escape", f"--device={value}")
        elif opt == "--env-file":
            acc.read(value)
    if parsed.has("-d", "--detach"):
        acc.detached = True
    if parsed.operands:
        image, command = parsed.operands[0], parsed.operands[1:]
        acc.link(NetDirection.FETCH, _registry_of(image))
        acc.mark("container.run", image)
        entry = parsed.value("--entrypoint")
        if entry is not None:
            command = [entry, *command]
        if command:
            _inside(acc, command)


_DOCKER_OPTS = Grammar("-e -u -w --env --user --workdir --env-file", posix=True)
_DOCKER_OPTS2 = Grammar("-u -p --username --password")
_DOCKER_OPTS3 = Grammar(
    "-f -t --file --tag --build-arg --target --platform --secret --ssh --output -o"
)


def _docker(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    while words and words[0].startswith("-"):  # global options: -H host, --context, --config
        option = words.pop(0)
        if option in ("-H", "--host", "-c", "--context", "--config", "-l", "--log-level") and words:
            value = words.pop(0)
            if option in ("-H", "--host"):
                acc.link(NetDirection.CONNECT, value)
    if not words:
        return acc.build()
    verb, rest = words[0], words[1:]
    if verb == "container" and rest:
        verb, rest = rest[0], rest[1:]
    if verb in ("run", "create"):
        _docker_run(acc, rest)
    elif verb == "exec":
        parsed = parse(rest, _DOCKER_OPTS)
        if parsed.operands:
            acc.mark("container.exec", parsed.operands[0])
            _inside(acc, parsed.operands[1:])
        if parsed.has("--privileged"):
            acc.mark("container.escape", "--privileged")
    elif verb == "pull" and rest:
        image = [w for w in rest if not w.startswith("-")]
        acc.link(NetDirection.FETCH, _registry_of(image[0]) if image else "docker.io")
    elif verb == "push" and rest:
        image = [w for w in rest if not w.startswith("-")]
        acc.link(NetDirection.UPLOAD, _registry_of(image[0]) if image else "docker.io")
    elif verb == "login":
        server = parse(rest, _DOCKER_OPTS2).operands
        acc.mark("docker.login", server[0] if server else "docker.io")
        acc.link(NetDirection.CONNECT, server[0] if server else "docker.io")
    elif verb == "cp":
        _docker_cp(acc, [w for w in rest if not w.startswith("-")], "container.cp")
    elif verb in ("build", "buildx"):
        parsed = parse(
            rest,
            _DOCKER_OPTS3,
        )
        acc.files_of(FileOp.READ, [o for o in parsed.operands if o != "build"], recursive=True)
        acc.read(parsed.value("-f", "--file"))
    elif verb in ("rm", "rmi") or (verb in ("system", "volume", "image") and "prune" in rest):
        acc.mark("container.delete", " ".join(rest))
    return acc.build()


def _docker_cp(acc: Acc, operands: list[str], marker: str) -> None:
    if len(operands) < 2:
        return
    source, dest = operands[0], operands[-1]
    acc.mark(marker, f"{source} {dest}")
    if ":" in source and not source.startswith(("/", ".")):
        acc.file(FileOp.WRITE, dest, recursive=True)
    elif ":" in dest and not dest.startswith(("/", ".")):
        acc.file(FileOp.READ, source, recursive=True)


_KUBECTL = Grammar(
    "-n -c -f -l -o --namespace --container --filename --selector --output --context"
    " --kubeconfig --cluster --user --server -s --image --type"
)


def _kubectl(name: str, args: Argv) -> Effects:
    words = list(args)
    command: list[str] = []
    if "--" in words:
        index = words.index("--")
        words, command = words[:index], words[index + 1 :]
    parsed = parse(words, _KUBECTL)
    acc = Acc()
    verbs = parsed.operands
    acc.read(parsed.value("--kubeconfig"))
    server = parsed.value("-s", "--server")
    if server:
        acc.link(NetDirection.CONNECT, server)
    if not verbs:
        return acc.build()
    verb = verbs[0]
    if verb in ("exec", "attach", "debug"):
        acc.mark("k8s.exec", verbs[1] if len(verbs) > 1 else "")
        if command:
            _inside(acc, command)
    elif verb == "cp":
        _docker_cp(acc, verbs[1:], "k8s.cp")
    elif verb in ("apply", "create", "replace"):
        for manifest in parsed.values("-f", "--filename"):
            if is_url(manifest):
                acc.link(NetDirection.FETCH, manifest)
            elif manifest != "-":
                acc.read(manifest)
        acc.mark("k8s.apply", " ".join(parsed.values("-f", "--filename")))
    elif verb == "delete":
        every = ["--all"] if parsed.has("--all", "-A", "--all-namespaces") else []
        acc.mark("k8s.delete", " ".join(verbs[1:] + parsed.values("-f", "--filename") + every))
    elif verb in ("port-forward", "proxy"):
        acc.mark("net.tunnel", " ".join(verbs))
    elif verb == "run":
        acc.mark("container.run", parsed.value("--image") or "")
        if command:
            _inside(acc, command)
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
    "kubectl": _kubectl,
    "oc": _kubectl,
}
