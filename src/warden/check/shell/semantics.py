"""Per-program semantics: what one program invocation does, judged from its argv alone.

:func:`effects_of` looks the program up by the basename of ``argv[0]`` in a table of handlers
(one small function or declarative spec per program, grouped by family in the ``sem_*``
modules) and returns an :class:`~warden.check.shell.effects.Effects`. Lookup tolerates version
suffixes (``python3.12``, ``pip3.11``) and ``mkfs.<type>``.

``argv[0]`` given as a path outside the system binary directories (``./build.sh``,
``~/bin/rm``) adds ``FileRef(EXEC, argv[0])`` to whatever the name means: a local script named
``rm`` is analysed as ``rm`` *and* reported as executed.

Conventions
    - Paths are raw as written. Where the program itself resolves them against a directory
      option, the join is done here (``tar -C d -cf x f`` reads ``d/f``; ``git -C repo clean``
      deletes ``repo``). Words holding ``$``/backquotes stay opaque and are reported raw.
    - ``recursive=True`` on a FileRef means the whole tree below the path is affected (rm -r,
      cp -r, chmod -R, find, tar c, clone destinations, ``mv`` of a source).
    - NetRef targets are what the program contacts, as written: a URL, ``host``,
      ``user@host:path`` (scp/rsync), a git remote *name* (``origin`` when none is given), a
      package registry host (``pypi.org``), a bucket URI (``s3://b/k``). LISTEN refs use
      ``0.0.0.0`` unless a bind address is given.
    - Option parsing follows getopt_long (see :class:`~warden.check.shell.sem_core.Grammar`):
      combined short flags, attached values, ``--opt=value``, ``--``, abbreviated long options
      (``rm --rec``). Grammars list only options with *required* values, so an option we do not
      know costs at most a misread operand, never a swallowed one.
    - ``shell_code`` is text the program hands to a shell (``sh -c``, ssh's remote command,
      ``watch``, ``tmux new``, tar ``--checkpoint-action=exec=``, ``git -c core.sshCommand=``);
      ``nested`` is an argv it execs directly (``sudo``, ``xargs``, ``find -exec``).

Unknown programs
    An unknown program gets the marker ``semantics.unknown`` and, for each operand (or
    ``--opt=value`` value) that looks like a path (contains ``/`` or starts with ``~`` or
    ``.``), a READ: a program handed a file most likely reads it. Never WRITE or DELETE: that
    would make every unknown tool look destructive. Operands that are URLs become CONNECT.
    A bare ``$VAR`` operand is not reported (it is as likely a flag or a name as a path).
    A handful of builtins and harmless utilities (``echo``, ``cd``, ``pwd``, ``true`` ...) are
    known to have no effects and return ``Effects()``.

Failure
    Handlers are total over arbitrary argv (property-tested). Should one still raise, the
    result is the unknown-program answer plus ``analysis.incomplete`` — never an exception.

Markers
    Every marker this layer emits; rules match on these names. Detail is free text as shown.

    ===========================  ======================  ===========================================
    name                         detail                  meaning
    ===========================  ======================  ===========================================
    analysis.incomplete          ``semantics:<prog>``    a handler failed (effects are a fallback),
                                 or a reason             or input too large to scan (sed script)
    archive.exec                 command                 tar --checkpoint-action/--to-command, zip
                                                         -TT
    at.schedule                  ""                      at/batch schedules commands for later
    audit.disable                auditctl args           auditctl -e 0 or -D
    awk.exec                     awk program             awk program calls system() or pipes
    chmod.executable             path                    mode grants execute
    chmod.world-writable         path                    mode grants write to others
    cloud.delete                 ``VERB [--recursive]    aws s3 rm/rb, gsutil rm, gcloud projects
                                 URI``, or what          delete, az group delete, rclone delete
    cloud.iam                    service verb            aws iam/sts/secretsmanager/ssm/kms call
    container.cp                 ``src dst``             docker cp
    container.delete             docker args             docker rm / prune
    container.escape             option                  --privileged, host namespaces, / or
                                                         docker.sock mounts, dangerous caps, nsenter
                                                         -t 1, curl --unix-socket docker
    container.exec               container               docker exec
    container.run                image                   docker/kubectl run
    cron.edit                    ""                      crontab -e
    cron.install                 file or ``-``           crontab FILE (``-``: from stdin)
    cron.remove                  ""                      crontab -r
    db.shell-escape              SQL line                sqlite .shell/.system, psql/mysql \\!
    debugger.exec                gdb command             gdb -ex '!cmd' / shell / call / python
    detach.daemonize             program                 daemonize, start-stop-daemon --start
    detach.disown                ""                      disown
    detach.nohup                 ""                      nohup
    detach.screen                ""                      screen -dm
    detach.setsid                ""                      setsid
    detach.ssh-background        ""                      ssh -f
    detach.tmux                  ""                      tmux new-session -d
    docker.login                 registry                docker login
    editor.exec                  command                 vim -c '!..' / +'py ..', emacs --eval
    env.bash-env                 value                   BASH_ENV/ENV set (runs on shell start)
    env.clear                    ""                      env -i
    env.dump                     program                 the whole environment printed (jq -n env;
                                                         the walker: env, printenv, set)
    env.read                     variable or ``*``       jq ``$ENV.NAME`` (secret-looking names),
                                                         inline code's environment reads
    env.ld-preload               value                   LD_PRELOAD/LD_LIBRARY_PATH/LD_AUDIT/
                                                         DYLD_INSERT_LIBRARIES set
    env.prompt-command           value                   PROMPT_COMMAND set
    env.unset                    variable                env -u NAME, unset NAME
    exec.remote-code             URL                     deno/bun run a script from a URL
    firewall.change              args                    ufw, iptables, nft, firewall-cmd change
    fs.chown-root                paths                   chown root ...
    fs.chroot                    directory               chroot DIR
    fs.device-write              device                  write to a block device or /dev/mem
    fs.fifo                      path                    mkfifo/mknod (reverse-shell plumbing)
    fs.format                    device                  mkfs*, mke2fs, mkswap, wipefs -a, fdisk...
    fs.immutable                 mode                    chattr +i/-i/+a/-a
    fs.link                      ``target -> link``      ln (symlink/hardlink creation)
    fs.mount                     operands [-o opts]      mount/umount
    fs.no-preserve-root          ""                      rm --no-preserve-root
    fs.shred                     ""                      shred, wipe, srm
    fs.timestomp                 paths                   touch -d/-t/-r (set timestamps)
    git.clean                    letters, e.g. ``-dfx``  git clean -f with -d/-x/-X
    git.config-exec              config key or option    config whose value git runs (sshCommand,
                                                         pager, alias !cmd, --upload-pack...)
    git.config-persist-exec      ``key=value``           the same kept by ``git config`` (run by
                                                         later git commands), helpers included
    git.credential-helper        helper                  credential.helper set
    git.credential-read          ``fill`` or helper      git credential fill, git credential-* get
    git.discard-changes          paths                   git checkout -- / restore / checkout -f
    git.ext-transport            URL                     clone of an ``ext::`` URL (runs a command)
    git.force-push               flag or refspec         push
                                                         -f/--force*/--mirror/--delete/+ref/:ref
    git.history-rewrite          subcommand              filter-branch/-repo, rebase --root, reflog
                                                         expire/delete, gc --prune=now
    git.hooks-path               value                   core.hooksPath set
    git.no-verify                ""                      commit/push/merge/am --no-verify
    git.remote-add               URL                     git remote add/set-url
    git.reset-hard               ""                      git reset --hard
    gpg.delete-keys              ""                      gpg --delete-*keys
    gpg.export-secret-keys       ""                      gpg --export-secret-(sub)keys
    history.clear                ""                      history -c/-w/-d
    history.disable              variable or command     unset HISTFILE, HISTFILE=/dev/null,
                                                         HISTSIZE=0, set +o history
    infra.destroy                command                 terraform/tofu destroy (or apply -destroy)
                                                         without -target
    k8s.apply                    manifests               kubectl apply/create/replace
    k8s.cp                       ``src dst``             kubectl cp
    k8s.delete                   what                    kubectl delete
    k8s.exec                     pod                     kubectl exec/attach/debug
    kernel.module                module                  insmod/modprobe/rmmod
    log.vacuum                   args                    journalctl --vacuum-*/--rotate, logrotate
                                                         -f
    make.eval                    code                    make --eval TEXT (inline makefile code)
    namespace.enter              target pid              nsenter
    namespace.unshare            options                 unshare
    net.config-file              file or commands        curl -K, wget -e (hidden URLs/options)
    net.dns-long-label           name                    DNS name shaped like tunnelled data
    net.exec-on-connect          program or command      nc -e/-c, ncat --sh-exec, socat EXEC/SYSTEM
    net.insecure-tls             ""                      curl -k, wget --no-check-certificate
    net.expose                   command or spec         publishes a local port on the internet
                                                         or tunnels back in (ngrok, cloudflared
                                                         tunnel, bore, lt, chisel R:, frpc, zrok,
                                                         tailscale funnel, ssh -R)
    net.listen                   port (or addr:port)     opens a listening socket
    net.ping-pattern             pattern                 ping -p (data in ICMP padding)
    net.public-upload            service                 gh gist create --public
    net.remote-exec              login                   parallel -S (runs on other hosts)
    net.scan                     targets                 nmap/masscan/zmap/rustscan, nc -z
    net.sniff                    interface or ""         tcpdump/tshark/dumpcap packet capture
    net.tunnel                   spec                    ssh -L/-R/-D/Forward options, kubectl port-
                                                         forward/proxy
    net.udp                      ""                      nc -u
    net.unix-socket              path                    curl --unix-socket
    net.upload-stdin             ""                      uploads stdin (curl -d @-, -T -, gist -)
    obfuscation.encoded-command  base64 text             pwsh -EncodedCommand
    pkg.custom-index             URL                     install from a non-default index/registry
    pkg.exec-wrapper             ``-exec``/``-toolexec`` go run/test -exec CMD, go build -toolexec
    pkg.index-config             URL                     the tool's index set for later installs
                                                         (npm config set registry, pip config
                                                         set global.index-url, go env -w GOPROXY)
    pkg.install                  package spec or ""      package install (``""``: from manifest)
    pkg.remote-source            URL                     a package fetched from a URL or a VCS
                                                         repository (``git+https://...``,
                                                         ``cargo install --git``)
    pkg.lifecycle-script         ``scripts.NAME``        npm pkg set scripts.postinstall=... (runs
                                                         on the next install)
    pkg.publish                  tool                    npm/cargo/... publish
    pkg.script-shell             program                 npm config set script-shell PROGRAM
    pkg.unsafe-flag              flags                   --break-system-packages, --trusted-host...
    powershell.bypass            policy                  -ExecutionPolicy Bypass
    privilege.root-shell         user or ""              sudo -s/-i, su, doas -s, pkexec: a shell
    privilege.setcap             ``caps path``           setcap (file capabilities, e.g. cap_setuid)
    privilege.setuid             path                    chmod/install mode with setuid/setgid
    privilege.sudo               target user or ""       sudo/doas/pkexec/su -c as another user
    privilege.userns-root        ""                      unshare -r (root in a user namespace)
    process.kill                 targets                 kill/pkill/killall
    resource.disk-fill           ``endless`` or bytes    dd from /dev/zero or /dev/urandom with
                                                         no count or 10 GiB or more
    process.kill-all             ""                      kill -1, killall5
    process.kill-broad           pattern                 pkill/killall whose pattern also takes
                                                         warden's own processes (python, -f .)
    process.trace                pid                     strace/ltrace -p, gdb -p (attach)
    python.module                module                  python -m MODULE
    security.apparmor-off        profile                 aa-disable/aa-teardown/aa-complain
    security.selinux-off         ""                      setenforce 0
    semantics.unknown            program name            no semantics known for this program
    sed.exec                     script                  sed script with the e command or s///e
    service.daemon-reload        ""                      systemctl daemon-reload
    service.disable              unit                    systemctl disable/mask, launchctl unload
    service.edit                 unit                    systemctl edit/set-property
    service.enable               unit or plist           systemctl enable/link/preset (any unit),
                                                         start of a unit *file*, launchctl
                                                         load/bootstrap
    service.start                unit                    systemctl start/restart, service X start
    service.stop                 unit                    systemctl stop/kill, disable --now, service
                                                         X stop
    shell.interactive            ""                      sh -i / bash -i
    shell.trap                   signals                 trap CODE SIGNALS (CODE runs later)
    sql                          statement               sqlite3/psql -c/mysql -e/mongo --eval/
                                                         redis-cli command
    ssh.copy-id                  host                    ssh-copy-id (installs a login key)
    ssh.keygen                   key path or ""          ssh-keygen creates a key
    ssh.local-command            command                 ssh -o ProxyCommand/LocalCommand, rsync
                                                         --rsync-path
    ssh.no-host-key-check        ""                      -o StrictHostKeyChecking=no
    system.power                 verb                    reboot/poweroff/halt/shutdown/isolate
    systemd.transient            unit, ``timer`` or ""   systemd-run
    user.change                  full command            useradd/usermod/passwd/chpasswd/visudo...
    ===========================  ======================  ===========================================

Inline-code languages: ``python``, ``perl``, ``node`` (node, bun, deno), ``ruby``, ``php``,
``lua``, ``awk`` (the seven :mod:`warden.check.shell.inline` analyses), and ``applescript``,
``jxa``, ``powershell``, ``r`` (which the walker scans for literals only).
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import msgspec

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects, FileRef
from warden.check.shell.sem_core import Acc, Argv, Handler, is_pathlike, is_url
from warden.check.shell.sem_index import FAMILY_OF, FAMILY_ORDER

__all__ = ["LISTS_NAMES", "PASSES_LINES", "effects_of", "known_programs"]

#: Programs whose output is a list of file names under their LIST operands (``find DIR``): a
#: consumer that takes names as arguments (``xargs cat``) reads files inside DIR.
LISTS_NAMES = frozenset({"find", "ls", "fd", "fdfind", "tree", "locate", "plocate", "mlocate",
                         "slocate", "du", "dir", "vdir", "exa", "eza", "lsd", "stat", "realpath",
                         "readlink"})  # fmt: skip

#: Programs that pass lines of their input through (filtered or reordered): a filtered listing
#: is still a listing (``find DIR | grep x | xargs cat``).
PASSES_LINES = frozenset({"grep", "egrep", "fgrep", "rg", "head", "tail", "sort", "uniq", "sed",
                          "awk", "cut", "tr", "cat", "tee"})  # fmt: skip

_NO_EFFECTS = Effects()


def _nothing(name: str, args: Argv) -> Effects:
    return _NO_EFFECTS


# Programs (mostly builtins) with no file, network or execution effect worth reporting.
_INERT = (
    "echo printf true false : test [ [[ pwd cd pushd popd dirs whoami id groups date uname"
    " hostname which type hash sleep seq yes basename dirname tty clear reset uptime free nproc"
    " arch locale logname users who w ps top htop pgrep jobs fg bg wait umask ulimit"
    " unalias let read printenv getconf tput stty shift return break continue caller shopt"
    " complete compgen mapfile readarray help times enable bind renice"
)

#: The family modules' names, in table order; a name must appear in exactly one (a test checks).
FAMILIES = FAMILY_ORDER

# Handlers by program name. A family module is imported the first time one of its programs is
# looked up (see sem_index); its handlers then join the table.
_TABLE: dict[str, Handler] = dict.fromkeys(_INERT.split(), _nothing)


def family_modules() -> tuple[ModuleType, ...]:
    """Every family module, imported (for tests and linters; lookups import lazily)."""
    return tuple(importlib.import_module(f"warden.check.shell.{f}") for f in FAMILY_ORDER)


def _handler(name: str) -> Handler | None:
    handler = _TABLE.get(name)
    if handler is None:
        family = FAMILY_OF.get(name)
        if family is None:
            return None
        module = importlib.import_module(f"warden.check.shell.{family}")
        for program, found in module.HANDLERS.items():
            _TABLE.setdefault(program, found)  # never over an entry already there
        handler = _TABLE.get(name)
    return handler


# `python3.12` -> `python`, `pip3.11` -> `pip`, `mkfs.ext4` -> `mkfs`, `fsck.vfat` -> `fsck`.
_VERSIONED = re.compile(r"^([a-z][a-z-]*?)-?\d+(?:\.\d+)*$")
_SYSTEM_DIRS = (
    "/bin/",
    "/usr/bin/",
    "/usr/local/bin/",
    "/sbin/",
    "/usr/sbin/",
    "/usr/local/sbin/",
    "/opt/homebrew/bin/",
    "/usr/libexec/",
    "/snap/bin/",
)


def _lookup(name: str) -> Handler | None:
    handler = _handler(name)
    if handler is not None:
        return handler
    if name.startswith(("mkfs.", "mke2fs.")):
        return _handler("mkfs")
    match = _VERSIONED.match(name)
    if match is not None:
        return _handler(match.group(1))
    if name.endswith(".exe"):
        return _handler(name[:-4].lower())
    return None


def _unknown(name: str, args: Argv, *, marker: bool = True) -> Effects:
    acc = Acc()
    if marker:
        acc.mark("semantics.unknown", name)
    for word in args:
        candidate = word.partition("=")[2] if word.startswith("-") else word
        if is_pathlike(candidate):
            acc.file(FileOp.READ, candidate)
        elif is_url(candidate):
            acc.link(NetDirection.CONNECT, candidate)
    return acc.build()


def effects_of(argv: tuple[str, ...]) -> Effects:
    """What the program invocation ``argv`` does, as far as its name and arguments tell.

    Never raises: see the module docstring for unknown programs and handler failures.
    """
    if not argv:
        return _NO_EFFECTS
    head = argv[0]
    name = head.rpartition("/")[2] if "/" in head else head
    args = tuple(argv[1:])  # handlers rely on tuple semantics; callers may pass a list
    handler = _TABLE.get(name) or _lookup(name)  # most names: one lookup, no call
    try:
        if handler is not None:
            effects = handler(name, args)
        else:
            effects = _unknown(name, args, marker="/" not in head)
    except Exception:  # a handler bug must not become a crash of the whole decision
        fallback = _unknown(name, args)
        effects = msgspec.structs.replace(
            fallback, markers=(*fallback.markers, ("analysis.incomplete", f"semantics:{name}"))
        )
    if "/" in head and (handler is None or not head.startswith(_SYSTEM_DIRS)):
        effects = msgspec.structs.replace(
            effects, files=(FileRef(FileOp.EXEC, head), *effects.files)
        )
    return effects


def known_programs() -> frozenset[str]:
    """Names with semantics (for linters and coverage reports)."""
    return frozenset(_INERT.split()) | frozenset(FAMILY_OF)
