"""Cloud storage CLIs, package managers and container tools.

aws/gsutil/gcloud/az/rclone/gh, pip/uv/poetry/npm/pnpm/yarn/bun/cargo/go/gem/composer and system
package managers, docker/podman, kubectl.
"""

from __future__ import annotations

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, is_url, parse

__all__ = ["HANDLERS"]

# --- object storage ---------------------------------------------------------------------------

_BUCKET_SCHEMES = ("s3://", "gs://", "az://", "r2://", "oss://", "cos://")


def _copy_between(acc: Acc, sources: list[str], dest: str | None, remote: tuple[str, ...],
                  *, recursive: bool) -> None:
    """Copy semantics where ``remote`` prefixes mark bucket URIs."""
    if dest is None:
        return
    for source in sources:
        if source.startswith(remote):
            acc.link(NetDirection.FETCH, source)
        elif source != "-":
            acc.file(FileOp.READ, source, recursive=recursive)
        else:
            acc.mark("net.upload-stdin")
    if dest.startswith(remote):
        acc.link(NetDirection.UPLOAD, dest)
    elif dest == "-":
        acc.outputs_network = True
    else:
        acc.file(FileOp.WRITE, dest, recursive=recursive)


_AWS = Grammar(
    "--profile --region --endpoint-url --output --query --exclude --include --acl --sse"
    " --storage-class --expires --grants --content-type --cli-input-json --cli-input-yaml"
    " --color --ca-bundle --cli-read-timeout --cli-connect-timeout --sse-kms-key-id"
    " --cache-control --metadata --website-redirect --source-region"
)


def _aws(name: str, args: Argv) -> Effects:
    parsed = parse(args, _AWS)
    acc = Acc()
    words = parsed.operands
    endpoint = parsed.value("--endpoint-url")
    if len(words) >= 2 and words[0] == "s3" and words[1] in ("cp", "sync", "mv"):
        operands = words[2:]
        _copy_between(acc, operands[:-1], operands[-1] if operands else None, ("s3://",),
                      recursive=words[1] == "sync" or parsed.has("--recursive"))
        if words[1] == "mv":
            for source in operands[:-1]:
                if not source.startswith("s3://"):
                    acc.file(FileOp.DELETE, source, recursive=parsed.has("--recursive"))
    elif len(words) >= 2 and words[0] == "s3" and words[1] in ("rm", "rb"):
        for uri in words[2:]:
            acc.mark("cloud.delete", uri)
    elif words:
        acc.link(NetDirection.CONNECT, f"{words[0]}.amazonaws.com")
        if words[0] in ("iam", "sts", "secretsmanager", "ssm", "kms"):
            acc.mark("cloud.iam", " ".join(words[:2]))
    if endpoint:
        acc.link(NetDirection.CONNECT, endpoint)
    return acc.build()


def _gsutil(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if name == "gcloud":
        if words[:2] != ["storage", "cp"] and words[:2] != ["storage", "rsync"]:
            if words:
                acc.link(NetDirection.CONNECT, "googleapis.com")
            return acc.build()
        words = words[1:]
    if words and words[0] in ("cp", "rsync", "mv"):
        operands = words[1:]
        _copy_between(acc, operands[:-1], operands[-1] if operands else None, ("gs://",),
                      recursive="-r" in args or "-R" in args or words[0] == "rsync")
    elif words and words[0] in ("rm", "rb"):
        for uri in words[1:]:
            acc.mark("cloud.delete", uri)
    return acc.build()


_AZ_BLOB = Grammar(
    "-f -c -n -s -d --file --container-name --name --account-name --account-key --source"
    " --destination --sas-token --connection-string --auth-mode --pattern --type"
)


def _az(name: str, args: Argv) -> Effects:
    parsed = parse(args, _AZ_BLOB)
    acc = Acc()
    words = parsed.operands
    account = parsed.value("--account-name") or "account"
    container = parsed.value("-c", "--container-name", "-d", "--destination") or ""
    target = f"https://{account}.blob.core.windows.net/{container}".rstrip("/")
    if words[:2] == ["storage", "blob"] and len(words) > 2:
        verb = words[2]
        if verb in ("upload", "upload-batch", "sync"):
            acc.read(parsed.value("-f", "--file", "-s", "--source"))
            acc.link(NetDirection.UPLOAD, target)
        elif verb in ("download", "download-batch"):
            acc.write(parsed.value("-f", "--file", "-d", "--destination"))
            acc.link(NetDirection.FETCH, target)
        elif verb in ("delete", "delete-batch"):
            acc.mark("cloud.delete", target)
    elif words:
        acc.link(NetDirection.CONNECT, "management.azure.com")
    return acc.build()


def _is_rclone_remote(word: str) -> bool:
    colon = word.find(":")
    return colon > 0 and "/" not in word[:colon] and not word.startswith(("/", "."))


def _rclone(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("--config --exclude --include --filter --files-from --log-file"
                                 " --bwlimit --transfers --checkers --backup-dir -c"))
    acc = Acc()
    words = parsed.operands
    if not words:
        return acc.build()
    verb, operands = words[0], words[1:]
    if verb in ("copy", "sync", "move", "copyto", "moveto", "bisync") and len(operands) >= 2:
        source, dest = operands[0], operands[-1]
        if _is_rclone_remote(source):
            acc.link(NetDirection.FETCH, source)
        else:
            acc.file(FileOp.READ, source, recursive=True)
            if verb.startswith("move"):
                acc.file(FileOp.DELETE, source, recursive=True)
        if _is_rclone_remote(dest):
            acc.link(NetDirection.UPLOAD, dest)
        else:
            acc.file(FileOp.WRITE, dest, recursive=True)
    elif verb in ("delete", "purge", "deletefile", "rmdir", "rmdirs"):
        for operand in operands:
            if _is_rclone_remote(operand):
                acc.mark("cloud.delete", operand)
            else:
                acc.file(FileOp.DELETE, operand, recursive=verb == "purge")
    elif verb in ("rcat",):
        acc.link(NetDirection.UPLOAD, operands[0] if operands else None)
        acc.mark("net.upload-stdin")
    acc.read(parsed.value("--config"))
    return acc.build()


def _gh(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-d -f -F -R -H -X -t -b -r -w --desc --repo --filename"
                                 " --method --field --raw-field --header --title --body"))
    acc = Acc()
    words = parsed.operands
    if words[:2] == ["gist", "create"] or words[:2] == ["gist", "edit"]:
        files = words[2:] if words[1] == "create" else words[3:]
        for path in files:
            if path == "-":
                acc.mark("net.upload-stdin")
            else:
                acc.read(path)
        acc.link(NetDirection.UPLOAD, "gist.github.com")
        if parsed.has("-p", "--public"):
            acc.mark("net.public-upload", "gist")
    elif words[:2] == ["release", "upload"]:
        acc.files_of(FileOp.READ, [w.partition("#")[0] for w in words[3:]])
        acc.link(NetDirection.UPLOAD, "github.com")
    elif words[:2] == ["repo", "clone"] and len(words) > 2:
        acc.link(NetDirection.FETCH, f"github.com/{words[2]}")
        acc.file(FileOp.WRITE, words[3] if len(words) > 3 else words[2].rpartition("/")[2],
                 recursive=True)
    elif words[:1] == ["api"]:
        sending = parsed.has("-f", "-F", "--field", "--raw-field", "--input")
        method = (parsed.value("-X", "--method") or "").upper()
        sending = sending or method in ("POST", "PUT", "PATCH", "DELETE")
        acc.link(NetDirection.UPLOAD if sending else NetDirection.FETCH, "api.github.com")
    elif words:
        acc.link(NetDirection.CONNECT, "api.github.com")
    return acc.build()


# --- package managers -------------------------------------------------------------------------

_REGISTRY = {
    "pip": "pypi.org", "pip3": "pypi.org", "uv": "pypi.org", "poetry": "pypi.org",
    "pipx": "pypi.org", "uvx": "pypi.org", "pdm": "pypi.org", "conda": "conda.anaconda.org",
    "mamba": "conda.anaconda.org", "npm": "registry.npmjs.org", "pnpm": "registry.npmjs.org",
    "yarn": "registry.yarnpkg.com", "bun": "registry.npmjs.org", "npx": "registry.npmjs.org",
    "bunx": "registry.npmjs.org", "cargo": "crates.io", "go": "proxy.golang.org",
    "gem": "rubygems.org", "bundle": "rubygems.org", "composer": "packagist.org",
    "apt": "deb.debian.org", "apt-get": "deb.debian.org", "dnf": "mirrors.fedoraproject.org",
    "yum": "mirrors.fedoraproject.org", "apk": "dl-cdn.alpinelinux.org",
    "brew": "formulae.brew.sh", "pacman": "archlinux.org", "zypper": "download.opensuse.org",
    "snap": "api.snapcraft.io", "flatpak": "flathub.org", "nix-env": "cache.nixos.org",
    "dotnet": "api.nuget.org", "nuget": "api.nuget.org",
}
_INSTALL_VERBS = {
    "pip": ("install", "download"), "pip3": ("install", "download"),
    "uv": ("add", "pip", "tool", "sync"), "poetry": ("add", "install"), "pdm": ("add", "install"),
    "pipx": ("install", "run", "inject"), "conda": ("install", "create"),
    "mamba": ("install", "create"), "npm": ("install", "i", "add", "ci", "exec", "x"),
    "pnpm": ("install", "i", "add", "dlx"), "yarn": ("add", "install", "dlx"),
    "bun": ("add", "install", "i", "x"), "cargo": ("install", "add"),
    "go": ("install", "get"), "gem": ("install",), "bundle": ("install", "add"),
    "composer": ("require", "install", "global"), "apt": ("install",), "apt-get": ("install",),
    "dnf": ("install",), "yum": ("install",), "apk": ("add",), "brew": ("install", "tap"),
    "pacman": ("-S", "-Sy", "-Syu", "-U"), "zypper": ("install", "in"), "snap": ("install",),
    "flatpak": ("install",), "nix-env": ("-i", "-iA"), "dotnet": ("add", "tool"),
    "nuget": ("install",),
}
_PKG_VALUES = Grammar(
    "-r -c -e -i -t --index-url --extra-index-url --requirement --constraint --editable"
    " --target --root --prefix --registry --source --git --path --branch --tag --rev --index"
    " --find-links -f --python -p --global-option --config-settings --only-binary --no-binary"
    " --platform --python-version --cache-dir --workspace --filter -w --save-prefix --version"
    " --from --spec --with --default-index"
)
_DIRECT_RUNNERS = frozenset({"npx", "bunx", "uvx"})


def _pkg(name: str, args: Argv) -> Effects:
    parsed = parse(args, _PKG_VALUES)
    acc = Acc()
    words = parsed.operands
    verbs = _INSTALL_VERBS.get(name, ())
    if name in _DIRECT_RUNNERS:
        packages, installing = words[:1], True
    elif name in ("pacman", "nix-env"):
        installing = any(opt in verbs for opt, _ in parsed.opts) or bool(set(args) & set(verbs))
        packages = words
    else:
        installing = bool(words) and words[0] in verbs
        packages = words[1:] if installing else []
        if name == "uv" and words[:1] in (["pip"], ["tool"]):
            installing = len(words) > 1 and words[1] in ("install", "run", "sync")
            packages = words[2:]
        if (name == "pipx" and words[:1] == ["run"]) or words[:1] in (["exec"], ["x"], ["dlx"]):
            packages = packages[:1]
    if not installing:
        if words and words[0] in ("publish", "upload", "push") and name in _REGISTRY:
            acc.link(NetDirection.UPLOAD, _REGISTRY[name])
            acc.mark("pkg.publish", name)
        return acc.build()
    indexes = parsed.values("-i", "--index-url", "--extra-index-url", "--registry", "--source",
                            "--index", "--find-links", "-f", "--default-index")
    for index in indexes:
        acc.link(NetDirection.FETCH, index)
        acc.mark("pkg.custom-index", index)
    if not indexes:
        acc.link(NetDirection.FETCH, _REGISTRY.get(name, name))
    for requirement in parsed.values("-r", "--requirement", "-c", "--constraint"):
        acc.read(requirement)
        acc.mark("pkg.install", requirement)
    for git in parsed.values("--git"):
        acc.link(NetDirection.FETCH, git)
        acc.mark("pkg.install", git)
    for path in parsed.values("-e", "--editable", "--path"):
        if is_url(path):
            acc.link(NetDirection.FETCH, path.removeprefix("git+"))
        else:
            acc.read(path)
        acc.mark("pkg.install", path)
    for package in packages:
        if is_url(package) or package.startswith("git+"):
            acc.link(NetDirection.FETCH, package.removeprefix("git+"))
        elif package.startswith((".", "/", "~")) or package.endswith((".whl", ".tar.gz", ".tgz")):
            acc.read(package)
        acc.mark("pkg.install", package)
    if not packages and not parsed.values("-r", "--requirement", "--git", "-e", "--editable"):
        acc.mark("pkg.install", "")
    if parsed.has("--break-system-packages", "--trusted-host", "--allow-unauthenticated",
                  "--nogpgcheck", "--no-verify", "--insecure"):
        acc.mark("pkg.unsafe-flag", " ".join(a for a in args if a.startswith("--")))
    return acc.build()


# --- containers -------------------------------------------------------------------------------

_DOCKER_RUN = Grammar(
    "-v -e -p -w -u -h -m -l -a -c --volume --env --publish --workdir --user --hostname --name"
    " --network --net --pid --ipc --uts --userns --cap-add --cap-drop --security-opt --device"
    " --mount --entrypoint --env-file --label --memory --cpus --restart --platform --add-host"
    " --dns --log-driver --log-opt --tmpfs --ulimit --cgroupns --runtime --gpus --volumes-from"
    " --cidfile --label-file --health-cmd --shm-size --stop-signal --pull --init-path",
    posix=True,
)
_SENSITIVE_MOUNTS = ("/", "/etc", "/root", "/home", "/var/run/docker.sock", "/run/docker.sock",
                     "/proc", "/sys", "/dev", "/var/lib/docker", "/boot", "/usr", "/var", "/run")
_DANGEROUS_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH",
                             "NET_ADMIN", "SYS_RAWIO", "DAC_OVERRIDE"})


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
            acc.run(command)
            acc.remote = True


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
        parsed = parse(rest, Grammar("-e -u -w --env --user --workdir --env-file", posix=True))
        if parsed.operands:
            acc.mark("container.exec", parsed.operands[0])
            acc.run(parsed.operands[1:])
            acc.remote = True
        if parsed.has("--privileged"):
            acc.mark("container.escape", "--privileged")
    elif verb == "pull" and rest:
        image = [w for w in rest if not w.startswith("-")]
        acc.link(NetDirection.FETCH, _registry_of(image[0]) if image else "docker.io")
    elif verb == "push" and rest:
        image = [w for w in rest if not w.startswith("-")]
        acc.link(NetDirection.UPLOAD, _registry_of(image[0]) if image else "docker.io")
    elif verb == "login":
        server = parse(rest, Grammar("-u -p --username --password")).operands
        acc.mark("docker.login", server[0] if server else "docker.io")
        acc.link(NetDirection.CONNECT, server[0] if server else "docker.io")
    elif verb == "cp":
        _docker_cp(acc, [w for w in rest if not w.startswith("-")], "container.cp")
    elif verb in ("build", "buildx"):
        parsed = parse(rest, Grammar("-f -t --file --tag --build-arg --target --platform"
                                     " --secret --ssh --output -o"))
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
    "-n -c -f -l -o -i --namespace --container --filename --selector --output --context"
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
            acc.run(command)
            acc.remote = True
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
        acc.mark("k8s.delete", " ".join(verbs[1:] + parsed.values("-f", "--filename")))
    elif verb in ("port-forward", "proxy"):
        acc.mark("net.tunnel", " ".join(verbs))
    elif verb == "run":
        acc.mark("container.run", parsed.value("--image") or "")
        if command:
            acc.run(command)
            acc.remote = True
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "aws": _aws,
    "gsutil": _gsutil,
    "gcloud": _gsutil,
    "az": _az,
    "rclone": _rclone,
    "gh": _gh,
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
    "kubectl": _kubectl,
    "oc": _kubectl,
}
HANDLERS.update(dict.fromkeys(_INSTALL_VERBS, _pkg))
HANDLERS.update(dict.fromkeys(_DIRECT_RUNNERS, _pkg))
