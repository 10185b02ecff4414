"""Package managers: pip/uv/poetry/pipx, npm/pnpm/yarn/bun/npx, cargo, go, gem, composer, and
system package managers (apt, dnf, apk, brew, ...).

An install is a FETCH from the tool's registry (or the ``--index-url``/``--registry`` given)
plus ``pkg.install`` per package; URL and ``git+`` specs are FETCHes of that URL; local paths and
requirement files are READs.
"""

from __future__ import annotations

import msgspec

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects, NetRef
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, is_url, parse

__all__ = [
    "ENV_INDEX_TOOLS",
    "HANDLERS",
    "env_index_settings",
    "env_indexes",
    "index_config",
    "package_manager",
    "with_env_indexes",
]

_REGISTRY = {
    "pip": "pypi.org",
    "pip3": "pypi.org",
    "uv": "pypi.org",
    "poetry": "pypi.org",
    "pipx": "pypi.org",
    "uvx": "pypi.org",
    "pdm": "pypi.org",
    "conda": "conda.anaconda.org",
    "mamba": "conda.anaconda.org",
    "npm": "registry.npmjs.org",
    "pnpm": "registry.npmjs.org",
    "yarn": "registry.yarnpkg.com",
    "bun": "registry.npmjs.org",
    "npx": "registry.npmjs.org",
    "bunx": "registry.npmjs.org",
    "cargo": "crates.io",
    "go": "proxy.golang.org",
    "gem": "rubygems.org",
    "bundle": "rubygems.org",
    "composer": "packagist.org",
    "apt": "deb.debian.org",
    "apt-get": "deb.debian.org",
    "dnf": "mirrors.fedoraproject.org",
    "yum": "mirrors.fedoraproject.org",
    "apk": "dl-cdn.alpinelinux.org",
    "brew": "formulae.brew.sh",
    "pacman": "archlinux.org",
    "zypper": "download.opensuse.org",
    "snap": "api.snapcraft.io",
    "flatpak": "flathub.org",
    "nix-env": "cache.nixos.org",
    "dotnet": "api.nuget.org",
    "nuget": "api.nuget.org",
}
_INSTALL_VERBS = {
    "pip": ("install", "download"),
    "pip3": ("install", "download"),
    "uv": ("add", "pip", "tool", "sync"),
    "poetry": ("add", "install"),
    "pdm": ("add", "install"),
    "pipx": ("install", "run", "inject"),
    "conda": ("install", "create"),
    "mamba": ("install", "create"),
    "npm": ("install", "i", "add", "ci", "exec", "x"),
    "pnpm": ("install", "i", "add", "dlx"),
    "yarn": ("add", "install", "dlx"),
    "bun": ("add", "install", "i", "x"),
    "cargo": ("install", "add"),
    "go": ("install", "get"),
    "gem": ("install",),
    "bundle": ("install", "add"),
    "composer": ("require", "install", "global"),
    "apt": ("install",),
    "apt-get": ("install",),
    "dnf": ("install",),
    "yum": ("install",),
    "apk": ("add",),
    "brew": ("install", "tap"),
    "pacman": ("-S", "-Sy", "-Syu", "-U"),
    "zypper": ("install", "in"),
    "snap": ("install",),
    "flatpak": ("install",),
    "nix-env": ("-i", "-iA"),
    "dotnet": ("add", "tool"),
    "nuget": ("install",),
}
# Option grammars differ by ecosystem: npm's -f is --force, pip's is --find-links.
_PY_VALUES = Grammar(
    "-r -c -e -i -t -f -p --index-url --extra-index-url --requirement --constraint --editable"
    " --target --root --prefix --find-links --python --global-option --config-settings"
    " --only-binary --no-binary --platform --python-version --cache-dir --index --default-index"
    " --from --spec --with --src --upgrade-strategy --progress-bar --log --proxy --retries"
    " --timeout --trusted-host --cert --client-cert --report --group --extra --source"
)
#: pip's own value options besides the Python ones (`pdm add -d` is a flag: not shared).
_PIP_VALUES = Grammar(" ".join((*_PY_VALUES.values, "-d", "--dest")))
#: The directories pip writes a package into: ``download -d DIR``, ``install --target DIR``
#: (``--prefix``, ``--root``, ``--src`` for editable checkouts). Reported as recursive
#: writes, so a target such as ``~/.ssh`` or ``~/.config/warden`` meets the rules of
#: what lies inside it, as ``cp -r x ~/.ssh`` does.
_PIP_DIRS = ("-d", "--dest", "-t", "--target", "--prefix", "--root", "--src")
_JS_VALUES = Grammar(
    "-C -p --registry --prefix --cache --userconfig --filter --tag --save-prefix --package"
    " --otp --scope --dir --cwd --workspace --globalconfig -c --call --script-shell"
)
#: The JS package managers' options whose value runs as a command: ``npx -c CODE`` and
#: ``npm exec --call CODE`` run CODE in a shell; ``--script-shell=SHELL`` is the program a
#: package script runs through (``npm run x --script-shell='cat ~/.ssh/id_rsa'``).
_JS_CODE_OPTIONS = ("-c", "--call", "--script-shell")
#: npx and bunx stop reading their own options at the first operand: what follows is the
#: command and its arguments (``npx prettier --check .``).
_JS_RUNNER = Grammar(" ".join(_JS_VALUES.values), posix=True)
#: Verbs that run a command: ``npm exec -- CMD ARG...``, ``pnpm exec CMD``, ``yarn dlx CMD``.
_JS_EXEC_VERBS = frozenset({"exec", "x", "dlx"})
#: package.json scripts npm runs by itself, on the next ``npm install`` / ``ci`` / ``pack`` /
#: ``publish``: setting one plants code for later (``npm pkg set scripts.postinstall=CODE``).
_LIFECYCLE_SCRIPTS = frozenset(
    {
        "preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare",
        "prepublish", "prepublishOnly", "prepack", "postpack", "dependencies",
    }
)  # fmt: skip
_OTHER_VALUES = Grammar(
    "-p -j -o --git --path --branch --tag --rev --index --registry --root --version --package"
    " --bin --features --target --source --target-dir --profile --config --jobs --install-dir"
    " --bindir --repo --option"
)
_GRAMMARS = {
    **dict.fromkeys(
        ("uv", "uvx", "poetry", "pipx", "pdm", "conda", "mamba"), _PY_VALUES
    ),
    **dict.fromkeys(("npm", "pnpm", "yarn", "bun", "npx", "bunx"), _JS_VALUES),
    **dict.fromkeys(("pip", "pip3"), _PIP_VALUES),
}
_DIRECT_RUNNERS = frozenset({"npx", "bunx", "uvx"})
# Tools whose `publish` uploads to the registry (`dotnet publish` only builds into a folder).
_PUBLISHERS = frozenset({"npm", "pnpm", "yarn", "bun", "cargo", "gem", "poetry", "pdm", "uv"})
# Verbs that run a script defined in the project manifest (package.json "scripts").
_SCRIPT_VERBS = frozenset({"run", "run-script", "test", "t", "start", "stop", "restart"})
_MANIFESTS = {
    "npm": "package.json",
    "pnpm": "package.json",
    "yarn": "package.json",
    "composer": "composer.json",
}


def _set_pairs(words: list[str]) -> list[tuple[str, str]]:
    """The ``key=value`` or ``key value`` pairs of ``npm config set`` / ``npm pkg set``."""
    pairs, i = [], 0
    while i < len(words):
        key, eq, value = words[i].partition("=")
        if not eq:
            value = words[i + 1] if i + 1 < len(words) else ""
            i += 1
        pairs.append((key, value))
        i += 1
    return pairs


def _js_settings(acc: Acc, words: list[str]) -> None:
    """``npm pkg set scripts.NAME=CODE`` and ``npm config set script-shell PROGRAM``: code that
    runs later, walked as code now (a script runs when asked for; script-shell runs every
    script). A lifecycle script npm runs by itself on the next install, and a script shell,
    are also marked: they persist (``pkg.lifecycle-script``, ``pkg.script-shell``)."""
    verb = words[0] if words else ""
    if verb == "pkg" and words[1:2] == ["set"]:
        for key, value in _set_pairs(words[2:]):
            if key.startswith("scripts."):
                acc.code(value)
                if key.removeprefix("scripts.") in _LIFECYCLE_SCRIPTS:
                    acc.mark("pkg.lifecycle-script", key)
    elif (verb == "config" and words[1:2] == ["set"]) or verb == "set":
        for key, value in _set_pairs(words[2:] if verb == "config" else words[1:]):
            if key.lstrip("-") == "script-shell":
                acc.code(value)
                acc.mark("pkg.script-shell", value)
            elif key.lower().endswith(("registry", "npmregistryserver")):
                index_config(acc, value)  # `registry`, `@scope:registry`, yarn's server


def index_config(acc: Acc, url: str) -> None:
    """A setting that makes the tool install from ``url`` from now on (``npm config set
    registry URL``, ``pip config set global.index-url URL``, ``go env -w GOPROXY=URL``): the
    user's next installs run code from there. Marked ``pkg.index-config`` with the fetch it
    configures, judged as if made now (the host against the allowlist)."""
    if is_url(url):
        acc.link(NetDirection.FETCH, url)
        acc.mark("pkg.index-config", url)


def _settings(acc: Acc, name: str, words: list[str]) -> None:
    """Index settings of pip (``pip config set global.index-url URL``), go (``go env -w
    GOPROXY=URL``) and poetry (``poetry source add NAME URL``, ``poetry config
    repositories.NAME URL``): see :func:`index_config`."""
    if name in ("pip", "pip3") and words[:2] == ["config", "set"] and len(words) > 3 and (
        words[2].rpartition(".")[2] in ("index-url", "extra-index-url", "find-links")
    ):
        for url in words[3].split():
            index_config(acc, url)
    elif name == "go" and words[:1] == ["env"]:
        for word in words[1:]:
            key, _, value = word.partition("=")
            if key == "GOPROXY":
                for url in _go_proxies(value):
                    index_config(acc, url)
    elif name == "poetry" and words[:2] == ["source", "add"] and len(words) > 3:
        index_config(acc, words[3])
    elif name == "poetry" and words[:1] == ["config"] and words[1:2] != [] and (
        words[1].startswith("repositories.") and len(words) > 2
    ):
        index_config(acc, words[2])


def _go_proxies(value: str) -> list[str]:
    """The proxy URLs of a ``GOPROXY`` list (``URL,URL|direct``), without ``direct``/``off``."""
    return [u for u in value.replace("|", ",").split(",") if is_url(u)]


#: Environment variables a package manager takes its index from, as from its ``--index-url``
#: or ``--registry`` option (``PIP_INDEX_URL=URL pip install x``). npm's ``npm_config_*`` are
#: read in any case, and ``npm_config_@scope:registry`` too.
_ENV_INDEXES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("pip", "pip3", "pipx"),
                    ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")),
    **dict.fromkeys(("uv", "uvx"), ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX",
                                     "UV_INDEX", "UV_FIND_LINKS")),
    "pdm": ("PDM_PYPI_URL",),
    "go": ("GOPROXY",),
    **dict.fromkeys(("npm", "npx", "pnpm"), ()),
    "yarn": ("YARN_REGISTRY", "YARN_NPM_REGISTRY_SERVER"),
    **dict.fromkeys(("bun", "bunx"), ("BUN_CONFIG_REGISTRY",)),
}  # fmt: skip
_NPM_FAMILY = frozenset({"npm", "npx", "pnpm", "yarn", "bun", "bunx"})
#: Per-registry variables, by name prefix and suffix (``CARGO_REGISTRIES_<NAME>_INDEX``).
_ENV_INDEX_FAMILIES: dict[str, tuple[str, str]] = {
    "cargo": ("CARGO_REGISTRIES_", "_INDEX"),
    "poetry": ("POETRY_REPOSITORIES_", "_URL"),
    "bundle": ("BUNDLE_MIRROR__", ""),
}
#: The tools :func:`with_env_indexes` looks at.
ENV_INDEX_TOOLS = frozenset(_ENV_INDEXES) | frozenset(_ENV_INDEX_FAMILIES)


def env_indexes(name: str, variables: dict[str, str]) -> list[str]:
    """The index URLs the package manager ``name`` takes from ``variables``, its environment."""
    urls: list[str] = []
    for key in _ENV_INDEXES.get(name, ()):
        value = variables.get(key, "")
        urls += _go_proxies(value) if key == "GOPROXY" else _urls_in(value)
    family = _ENV_INDEX_FAMILIES.get(name)
    npm = name in _NPM_FAMILY
    if family is not None or npm:
        for key, value in variables.items():
            low = key.lower()
            if (npm and low.startswith("npm_config_") and low.endswith("registry")) or (
                family is not None and key.startswith(family[0]) and key.endswith(family[1])
            ):
                urls += _urls_in(value)
    return urls


#: One tool per family of index variables, for :func:`env_index_settings`.
_ENV_INDEX_READERS = ("pip", "uv", "pdm", "go", "npm", "yarn", "bun", "cargo", "poetry", "bundle")


def env_index_settings(variables: dict[str, str]) -> list[tuple[str, str]]:
    """``(tool, URL)`` for each index that ``variables``, set for good (``export
    PIP_INDEX_URL=URL`` in a shell start-up file), gives the package managers."""
    found: dict[str, str] = {}
    for tool in _ENV_INDEX_READERS:
        for url in env_indexes(tool, variables):
            found.setdefault(url, tool)
    return [(tool, url) for url, tool in found.items()]


def _urls_in(value: str) -> list[str]:
    """The URLs of a variable holding one or a list of them (blank-separated; uv's
    ``NAME=URL`` entries)."""
    return [w.partition("=")[2] if "=" in w.split("://")[0] else w
            for w in value.replace(",", " ").split() if is_url(w)]  # fmt: skip


def with_env_indexes(eff: Effects, name: str, variables: dict[str, str]) -> Effects:
    """``eff`` of an install by ``name`` plus the indexes its environment names (as
    :func:`_pkg` records ``--index-url``: a fetch from each and ``pkg.custom-index``)."""
    if not any(marker == "pkg.install" for marker, _ in eff.markers):
        return eff
    urls = env_indexes(name, variables)
    if not urls:
        return eff
    return msgspec.structs.replace(
        eff,
        net=(*eff.net, *(NetRef(NetDirection.FETCH, url) for url in urls)),
        markers=(*eff.markers, *(("pkg.custom-index", url) for url in urls)),
    )


def _go_exec(acc: Acc, args: Argv) -> None:
    """``go run``/``go test`` ``-exec CMD`` run the program built through CMD, and
    ``-toolexec CMD`` runs every compiler tool through it: CMD is split into words with
    quotes as go does, a command line walked as shell code."""
    for k, word in enumerate(args):
        flag, eq, value = word.lstrip("-").partition("=")
        if flag not in ("exec", "toolexec") or not word.startswith("-"):
            continue
        if not eq:
            value = args[k + 1] if k + 1 < len(args) else ""
        if value:
            acc.code(value)
            acc.mark("pkg.exec-wrapper", f"-{flag}")


def _pkg(name: str, args: Argv) -> Effects:
    grammar = _GRAMMARS.get(name, _OTHER_VALUES)
    if grammar is _JS_VALUES and name in _DIRECT_RUNNERS:
        grammar = _JS_RUNNER
    parsed = parse(args, grammar)
    acc = Acc()
    words = parsed.operands
    if grammar is _JS_VALUES or grammar is _JS_RUNNER:
        for code in parsed.values(*_JS_CODE_OPTIONS):
            acc.code(code)
        # The command npx / `npm exec` runs is a program on PATH or a package's bin: walked
        # as a command (`npx -- cat FILE` reads FILE), besides the package it may fetch.
        if grammar is _JS_RUNNER:
            acc.run(words)
        elif words[:1] and words[0] in _JS_EXEC_VERBS:
            acc.run(args[args.index("--") + 1 :] if "--" in args else words[1:])
        _js_settings(acc, words)
    if name == "go":
        _go_exec(acc, args)
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
        _settings(acc, name, words)
        verb = words[0] if words else ""
        if verb in ("publish", "upload", "push") and name in _PUBLISHERS:
            acc.link(NetDirection.UPLOAD, _REGISTRY[name])
            acc.mark("pkg.publish", name)
        elif verb in _SCRIPT_VERBS and name in _MANIFESTS:
            acc.file(FileOp.EXEC, _MANIFESTS[name])  # runs a script the manifest defines
        elif name == "go" and verb == "run" and any("@" in w for w in words[1:2]):
            acc.link(NetDirection.FETCH, _REGISTRY["go"])
            acc.mark("pkg.install", words[1])
        return acc.build()
    indexes = parsed.values(
        "-i",
        "--index-url",
        "--extra-index-url",
        "--registry",
        "--source",
        "--index",
        "--find-links",
        "-f",
        "--default-index",
    )
    for index in indexes:
        acc.link(NetDirection.FETCH, index)
        acc.mark("pkg.custom-index", index)
    if not indexes:
        acc.link(NetDirection.FETCH, _REGISTRY.get(name, name))
    if grammar is _PIP_VALUES:
        for directory in parsed.values(*_PIP_DIRS):
            acc.file(FileOp.WRITE, directory, recursive=True)
    for requirement in parsed.values("-r", "--requirement", "-c", "--constraint"):
        acc.read(requirement)
        acc.mark("pkg.install", requirement)
    for git in parsed.values("--git"):
        acc.link(NetDirection.FETCH, git)
        acc.mark("pkg.install", git)
        acc.mark("pkg.remote-source", git)
    for path in parsed.values("-e", "--editable", "--path"):
        if is_url(path):
            acc.link(NetDirection.FETCH, path.removeprefix("git+"))
            acc.mark("pkg.remote-source", path)
        else:
            acc.read(path)
        acc.mark("pkg.install", path)
    for package in packages:
        if is_url(package) or package.startswith("git+"):
            acc.link(NetDirection.FETCH, package.removeprefix("git+"))
            acc.mark("pkg.remote-source", package)
        elif package.startswith((".", "/", "~")) or package.endswith((".whl", ".tar.gz", ".tgz")):
            acc.read(package)
        acc.mark("pkg.install", package)
    if not packages and not parsed.values("-r", "--requirement", "--git", "-e", "--editable"):
        acc.mark("pkg.install", "")
    if parsed.has(
        "--break-system-packages",
        "--trusted-host",
        "--allow-unauthenticated",
        "--nogpgcheck",
        "--no-verify",
        "--insecure",
    ):
        acc.mark("pkg.unsafe-flag", " ".join(a for a in args if a.startswith("--")))
    return acc.build()


def _dpkg(name: str, args: Argv) -> Effects:
    """dpkg -i / rpm -i|-U: installs local packages, running their maintainer scripts."""
    acc = Acc()
    installing = any(
        w in ("-i", "--install", "-U", "--upgrade", "-F", "--freshen")
        or (w.startswith("-") and not w.startswith("--") and ("i" in w or "U" in w))
        for w in args
    )
    if installing:
        for package in (w for w in args if not w.startswith("-")):
            acc.read(package)
            acc.mark("pkg.install", package)
    return acc.build()


package_manager = _pkg  # also reached through `bun add`, `python -m pip` and friends

# bun is registered by sem_interp (it is a runtime first), which delegates here.
HANDLERS: dict[str, Handler] = {name: _pkg for name in _INSTALL_VERBS if name != "bun"}
HANDLERS.update(dict.fromkeys(_DIRECT_RUNNERS, _pkg))
HANDLERS.update({"dpkg": _dpkg, "rpm": _dpkg})
