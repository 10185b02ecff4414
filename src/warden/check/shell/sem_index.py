"""Which ``sem_*`` module handles each program (generated: do not edit by hand).

:mod:`warden.check.shell.semantics` imports a family module only when a command runs one of
its programs: a hook process that judges ``ls`` needs one family of fourteen, and importing
them all costs it more than the whole analysis. After adding a program to a family, regenerate
with ``python -m warden.check.shell.sem_index > src/warden/check/shell/sem_index.py``; a test
fails while this table and the families' ``HANDLERS`` disagree.
"""

from __future__ import annotations

__all__ = ["FAMILY_OF", "FAMILY_ORDER", "render"]

#: The family modules, in table order (a name must appear in exactly one).
FAMILY_ORDER = (
    "sem_read",
    "sem_write",
    "sem_archive",
    "sem_net",
    "sem_probe",
    "sem_remote",
    "sem_cloud",
    "sem_pkg",
    "sem_container",
    "sem_git",
    "sem_system",
    "sem_wrap",
    "sem_detach",
    "sem_interp",
)

_NAMES = {
    "sem_read": (
        "ack", "ag", "awk", "b2sum", "base32", "base64", "basenc", "bat", "batcat", "bzcat", "cat",
        "cksum", "cmp", "code", "codium", "column", "comm", "cursor", "cut", "diff", "dir", "du",
        "ed", "egrep", "emacs", "ex", "exa", "expand", "eza", "fgrep", "file", "fold", "gawk",
        "gedit", "getfacl", "gojq", "grep", "gsed", "gvim", "hd", "head", "hexdump", "iconv",
        "joe", "join", "jq", "kate", "less", "locate", "ls", "lsattr", "lsd", "mawk", "mcedit",
        "md5sum", "micro", "mlocate", "more", "most", "nano", "nawk", "nl", "nm", "nvim",
        "objdump", "od", "paste", "pico", "plocate", "readelf", "readlink", "realpath", "rev",
        "rg", "sed", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "shasum",
        "slocate", "sort", "split", "stat", "strings", "subl", "sum", "tac", "tail", "tree",
        "uniq", "uudecode", "vdir", "vi", "view", "vim", "wc", "xxd", "xzcat", "yq", "zcat",
        "zgrep", "zless", "zstdcat",
    ),
    "sem_write": (
        "chattr", "chgrp", "chmod", "chown", "cp", "dd", "find", "gfind", "install", "ln", "mkdir",
        "mkfifo", "mknod", "mv", "patch", "rm", "rmdir", "shred", "srm", "tee", "touch",
        "truncate", "unlink", "wipe",
    ),
    "sem_archive": (
        "7z", "7za", "7zz", "afio", "brotli", "bsdtar", "bunzip2", "bzip2", "compress", "cpio",
        "gpg", "gpg2", "gtar", "gunzip", "gzip", "lz4", "lzma", "mariadb", "mongo", "mongosh",
        "mysql", "mysqldump", "openssl", "pax", "pigz", "psql", "redis-cli", "sqlite", "sqlite3",
        "tar", "uncompress", "unlzma", "unpigz", "unxz", "unzip", "unzstd", "xz", "zip", "zstd",
    ),
    "sem_net": (
        "bore", "chisel", "cloudflared", "croc", "curl", "frpc", "localtunnel", "lt",
        "magic-wormhole", "nc", "nc.openbsd", "nc.traditional", "ncat", "netcat", "ngrok",
        "pinggy", "socat", "tailscale", "telnet", "wget", "wget2", "wormhole", "zrok",
    ),
    "sem_probe": (
        "arping", "dig", "drill", "dumpcap", "getent", "host", "http-server", "masscan", "mtr",
        "nmap", "nslookup", "ping", "ping6", "resolvectl", "rustscan", "tcpdump", "tracepath",
        "traceroute", "traceroute6", "tshark", "zmap",
    ),
    "sem_remote": (
        "autossh", "dbclient", "ftp", "lftp", "rsync", "scp", "sftp", "ssh", "ssh-copy-id",
        "ssh-keygen", "tftp",
    ),
    "sem_cloud": (
        "aws", "az", "gcloud", "gh", "gsutil", "rclone", "terraform", "tofu",
    ),
    "sem_pkg": (
        "apk", "apt", "apt-get", "brew", "bundle", "bunx", "cargo", "composer", "conda", "dnf",
        "dotnet", "dpkg", "flatpak", "gem", "go", "mamba", "nix-env", "npm", "npx", "nuget",
        "pacman", "pdm", "pip", "pip3", "pipx", "pnpm", "poetry", "rpm", "snap", "uv", "uvx",
        "yarn", "yum", "zypper",
    ),
    "sem_container": (
        "docker", "kubectl", "nerdctl", "oc", "podman",
    ),
    "sem_git": (
        "git", "git-credential-cache", "git-credential-gnome-keyring", "git-credential-libsecret",
        "git-credential-manager", "git-credential-manager-core", "git-credential-netrc",
        "git-credential-osxkeychain", "git-credential-store", "git-credential-wincred",
    ),
    "sem_system": (
        "aa-complain", "aa-disable", "aa-teardown", "adduser", "auditctl", "blkdiscard", "cfdisk",
        "chfn", "chpasswd", "chsh", "crontab", "declare", "deluser", "export", "fdisk",
        "firewall-cmd", "gdisk", "getcap", "gpasswd", "groupadd", "groupmod", "halt", "history",
        "insmod", "ip6tables", "ip6tables-restore", "iptables", "iptables-legacy", "iptables-nft",
        "iptables-restore", "journalctl", "kill", "killall", "killall5", "launchctl", "local",
        "logrotate", "mke2fs", "mkfs", "mkswap", "modprobe", "mount", "newusers", "nft", "parted",
        "passwd", "pkill", "poweroff", "readonly", "reboot", "rmmod", "service", "set", "setcap",
        "setenforce", "sfdisk", "sgdisk", "shutdown", "skill", "sysctl", "systemctl", "trap",
        "typeset", "ufw", "umount", "unset", "useradd", "userdel", "usermod", "vigr", "vipw",
        "visudo", "wipefs",
    ),
    "sem_wrap": (
        "alias", "builtin", "busybox", "caffeinate", "cgexec", "chronic", "chroot", "chrt",
        "command", "doas", "eatmydata", "env", "eval", "exec", "fakeroot", "faketime", "firejail",
        "flock", "gdb", "gtimeout", "ifne", "ionice", "linux32", "linux64", "ltrace", "nice",
        "nocache", "nsenter", "numactl", "parallel", "pkexec", "prlimit", "proxychains",
        "proxychains4", "script", "setarch", "setpriv", "stdbuf", "strace", "su", "sudo",
        "sudoedit", "taskset", "time", "timeout", "torsocks", "toybox", "unbuffer", "unshare",
        "valgrind", "watch", "xargs",
    ),
    "sem_detach": (
        "at", "atq", "atrm", "batch", "daemonize", "disown", "nohup", "screen", "setsid",
        "start-stop-daemon", "systemd-run", "tmux",
    ),
    "sem_interp": (
        ".", "Rscript", "ash", "bash", "bun", "csh", "dash", "deno", "expect", "fish", "gmake",
        "jimsh", "just", "ksh", "lua", "luajit", "make", "mksh", "node", "nodejs", "osascript",
        "pdksh", "perl", "php", "powershell", "pwsh", "pypy", "python", "rbash", "ruby", "sh",
        "source", "tclsh", "tcsh", "wish", "yash", "zsh",
    ),
}  # fmt: skip


#: program name -> family module name (under ``warden.check.shell``)
FAMILY_OF: dict[str, str] = {name: family for family, names in _NAMES.items() for name in names}


def render() -> str:
    """This module's source, from the family modules' ``HANDLERS`` as they are now."""
    import importlib
    import inspect
    import sys

    this = inspect.getsource(sys.modules[__name__])
    head, _, rest = this.partition("#: The family modules")
    _, _, tail = rest.partition("}  # fmt: skip\n")
    families = [(f, importlib.import_module(f"warden.check.shell.{f}")) for f in FAMILY_ORDER]
    return head + _table([(f, sorted(m.HANDLERS)) for f, m in families]) + tail


def _table(families: list[tuple[str, list[str]]]) -> str:
    out = ["#: The family modules, in table order (a name must appear in exactly one).",
           "FAMILY_ORDER = (", *(f'    "{f}",' for f, _ in families), ")", "", "_NAMES = {"]
    for family, names in families:
        out.append(f'    "{family}": (')
        line = "       "
        for name in names:
            item = f' "{name}",'
            if len(line) + len(item) > 99:
                out.append(line)
                line = "       "
            line += item
        out += [line, "    ),"]
    return "\n".join(out) + "\n}  # fmt: skip\n"


if __name__ == "__main__":  # pragma: no cover - the generator, run by hand
    print(render(), end="")
