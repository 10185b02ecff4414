import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warden.check.paths import (
    PathContext,
    compile_glob,
    globs_intersect,
    is_within,
    normalize,
    resolve,
)

CTX = PathContext(cwd="/home/dev/project", home="/home/dev", workspace="/home/dev/project")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("~/.ssh/id_rsa", "/home/dev/.ssh/id_rsa"),
        ("$HOME/.aws/credentials", "/home/dev/.aws/credentials"),
        ("${HOME}/x", "/home/dev/x"),
        ("../../etc/passwd", "/home/etc/passwd"),
        ("../../../../../../etc/shadow", "/etc/shadow"),
        ("src/./a/../b.py", "/home/dev/project/src/b.py"),
        ("//etc//passwd", "/etc/passwd"),
        ("~root/.ssh/id_rsa", "/root/.ssh/id_rsa"),
        ("~alice/.aws/credentials", "/home/alice/.aws/credentials"),
        ("$PWD/x", "/home/dev/project/x"),
        ("~", "/home/dev"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw, CTX) == expected


def test_symlink_to_secret_is_resolved(tmp_path) -> None:
    secret = tmp_path / "home" / ".ssh" / "id_rsa"
    secret.parent.mkdir(parents=True)
    secret.write_text("key")
    link = tmp_path / "project" / "innocent.txt"
    link.parent.mkdir()
    os.symlink(secret, link)
    assert resolve(str(link)) == str(secret)


def test_resolve_missing_path_is_kept() -> None:
    assert resolve("/nonexistent/dir/file") == "/nonexistent/dir/file"
    assert resolve("/a\0b") == "/a\0b"


def test_is_within() -> None:
    assert is_within("/home/dev/project/a", "/home/dev/project")
    assert is_within("/home/dev/project", "/home/dev/project")
    assert not is_within("/home/dev/project2/a", "/home/dev/project")
    assert is_within("/anything", "/")


@pytest.mark.parametrize(
    ("glob", "path", "match"),
    [
        ("/home/dev/.ssh/id_*", "/home/dev/.ssh/id_rsa", True),
        ("/home/dev/.ssh/id_*", "/home/dev/.ssh/sub/id_rsa", False),
        ("**/.env", "/x/y/.env", True),
        ("**/.env", "/x/y/a.env", False),
        ("/home/dev/.config/gcloud/**", "/home/dev/.config/gcloud/a/b.json", True),
        ("/etc/cron*/**", "/etc/cron.d/job", True),
        ("/dev/sd[a-z]", "/dev/sdb", True),
    ],
)
def test_compile_glob(glob: str, path: str, match: bool) -> None:
    assert bool(compile_glob(glob).match(path)) is match


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("/home/dev/.ss?/id_*", "/home/dev/.ssh/id_*", True),
        ("/e??/sh*ow", "/etc/shadow", True),
        ("/home/dev/*.py", "/home/dev/.ssh/**", False),
        ("/home/dev/**", "/home/dev/.aws/credentials", True),
        ("/tmp/*", "/etc/passwd", False),
        ("/home/dev/.ssh/[!a]*", "/home/dev/.ssh/id_rsa", True),
        ("/home/dev/.ssh/[a]*", "/home/dev/.ssh/id_rsa", False),
        ("/home/*/x", "/home/a/b/x", False),
        ("/home/dev/.ssh/id_rsa", "/home/dev/*/id_rsa", False),
        ("/home/dev/.ssh/id_rsa", "/home/dev/.*/id_rsa", True),
        ("**/.env.*", "/p/src/*.py", False),
        ("**/.env", "/p/.e?v", True),
        ("**/.env", "/p/?env", False),
        ("**/.warden/**", "/p/tmp/*", False),
    ],
)
def test_globs_intersect(a: str, b: str, meet: bool) -> None:
    assert globs_intersect(a, b) is meet


def test_shell_wildcards_skip_dotfiles_but_recursive_reads_do_not() -> None:
    assert not globs_intersect("/home/dev/.aws/credentials", "/home/dev/**")
    assert globs_intersect("/home/dev/.aws/credentials", "/home/dev/**", shell=False)


@given(st.text(alphabet="ab/*?.", max_size=12))
def test_glob_intersects_itself_when_it_matches_something(g: str) -> None:
    # a literal path always intersects a glob that matches it
    literal = g.replace("*", "").replace("?", "a")
    if compile_glob(g).match(literal):
        assert globs_intersect(g, literal)


def test_huge_globs_fail_closed() -> None:
    assert globs_intersect("/*" * 2000, "/etc/shadow")


def test_resolve_matches_realpath(tmp_path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.txt").write_text("x")
    os.symlink(tmp_path / "a", tmp_path / "link")
    os.symlink("b/f.txt", tmp_path / "a" / "rel")
    for p in [tmp_path / "link" / "b" / "f.txt", tmp_path / "a" / "rel", tmp_path / "link" / "rel",
              tmp_path / "link" / "missing" / "deeper.txt", tmp_path / "a" / "b" / "f.txt" / "x"]:
        assert resolve(str(p)) == os.path.realpath(p), p


def test_dangling_symlink_resolves_to_what_a_write_would_create(tmp_path) -> None:
    target = tmp_path / "home" / ".config" / "systemd" / "user" / "evil.service"
    target.parent.mkdir(parents=True)
    os.symlink(target, tmp_path / "innocent")
    assert resolve(str(tmp_path / "innocent")) == str(target)
    # a chain of links, the last one dangling
    os.symlink(tmp_path / "innocent", tmp_path / "chain")
    assert resolve(str(tmp_path / "chain")) == str(target)


def test_symlink_loop_terminates(tmp_path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert resolve(str(tmp_path / "a")).startswith(str(tmp_path))


def test_missing_paths_below_links_and_dangling_directories(tmp_path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "dirlink")
    os.symlink(tmp_path / "nowhere" / "deep", tmp_path / "dangling-dir")
    for p in [tmp_path / "dirlink" / "new" / "file.txt", tmp_path / "missing" / "a" / "b",
              tmp_path / "dangling-dir" / "x" / "y.txt", tmp_path / "dangling-dir"]:
        assert resolve(str(p)) == os.path.realpath(p), p


def _normalize_reference(raw: str, ctx: PathContext) -> str:
    """normalize() before its fast path: expansion, then always join and normpath."""
    import posixpath

    p = raw
    if p.startswith("~"):
        slash = p.find("/")
        user = p[1:] if slash < 0 else p[1:slash]
        rest = "" if slash < 0 else p[slash:]
        if not user:
            p = ctx.home + rest
        elif user == "root":
            p = "/root" + rest
        elif user.isidentifier() or user.replace("-", "").replace(".", "").isalnum():
            p = posixpath.join(posixpath.dirname(ctx.home.rstrip("/")) or "/", user) + rest
    else:
        for var in ("$HOME", "${HOME}", "$PWD", "${PWD}"):
            if p.startswith(var):
                p = (ctx.home if "HOME" in var else ctx.cwd) + p[len(var) :]
                break
    if not p.startswith("/"):
        p = posixpath.join(ctx.cwd, p)
    p = posixpath.normpath(p)
    if p.startswith("//"):
        p = "/" + p.lstrip("/")
    return p


_PATHISH = st.one_of(st.text(alphabet="/.ab~$HOME{}PWD-", max_size=16),
                     st.sampled_from([".", "./", "./a", ".//a", "./.", "./..", "..", "./a/"]))
_DIRS = st.sampled_from(["/", "/home/dev/project", "/home/dev/", "//x", "/a/./b", "", "rel",
                         "/a/..", "/a//b", "/.", "/x/y"])  # fmt: skip


@given(_PATHISH, _DIRS, _DIRS)
def test_normalize_fast_path_agrees_with_join_and_normpath(raw: str, cwd: str, home: str) -> None:
    ctx = PathContext(cwd=cwd, home=home, workspace="/w")
    assert normalize(raw, ctx) == _normalize_reference(raw, ctx)


@given(_PATHISH)
def test_is_normal_is_normpath_identity(raw: str) -> None:
    import posixpath

    from warden.check.paths import _is_normal

    path = "/" + raw
    assert _is_normal(path) == (posixpath.normpath(path) == path and not path.startswith("//"))


def test_resolve_missing_path_below_a_symlink_follows_it(tmp_path) -> None:
    """A missing file under a directory that is a symlink resolves through the link (the
    normal-path fast test must not skip the walk)."""
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    assert resolve(str(tmp_path / "link" / "new.txt")) == str(real / "new.txt")
    assert resolve(str(tmp_path / "link") + "/./new.txt") == str(real / "new.txt")


@pytest.mark.parametrize(
    ("pattern", "directory", "meets"),
    [
        ("/home/dev/.ssh/id_*", "/home/dev/.ss?", True),  # the glob names ~/.ssh
        ("/home/dev/.ssh/id_*", "/home/dev/.ss?/", True),
        ("/home/dev/.ssh/id_*", "/home/dev/.ss[h]", True),
        ("/home/dev/.aws/credentials", "/home/dev/.a*", True),
        ("/home/dev/.ssh/id_*", "/home/dev/*", False),  # bash: `*` never names `.ssh`
        ("/home/dev/.ssh/id_*", "/home/*/.ssh", True),
        ("/home/dev/project/.env", "/home/dev/pro?ect", True),  # hidden files inside count
        ("/home/dev/project/a/b/.env", "/home/dev/proj*", True),
        ("/home/dev/.ssh/id_*", "/home/dev/.gn?pg", False),
        ("/home/dev/.ssh/id_*", "/", True),
    ],
)
def test_a_glob_directory_holds_what_is_inside_the_directories_it_names(
    pattern: str, directory: str, meets: bool
) -> None:
    assert globs_intersect(pattern, directory, within=True) is meets
    if directory not in ("/",):  # as a path (not taken whole) the glob names only itself
        assert globs_intersect(pattern, directory) is (pattern == directory)
