"""The apply_patch envelope parser (Codex format, codex-rs/apply-patch/src/parser.rs)."""

from __future__ import annotations

import pytest

from warden.action import ChangeOp, FileChange
from warden.errors import InputError
from warden.normalize import parse_apply_patch
from warden.normalize.patch import looks_like_patch


def test_add_update_delete_in_order() -> None:
    changes = parse_apply_patch(
        "*** Begin Patch\n"
        "*** Add File: path/add.py\n+abc\n+def\n"
        "*** Delete File: path/delete.py\n"
        "*** Update File: path/update.py\n*** Move to: path/update2.py\n"
        "@@ def f():\n-    pass\n+    return 123\n"
        "*** End Patch"
    )
    assert changes == (
        FileChange(path="path/add.py", op=ChangeOp.ADD, new_text="abc\ndef\n"),
        FileChange(path="path/delete.py", op=ChangeOp.DELETE),
        FileChange(
            path="path/update.py",
            op=ChangeOp.MOVE,
            move_to="path/update2.py",
            old_text="    pass\n",
            new_text="    return 123\n",
        ),
    )


def test_update_keeps_context_in_both_sides_and_joins_chunks() -> None:
    (change,) = parse_apply_patch(
        "*** Begin Patch\n*** Update File: a.py\n"
        "@@ class A\n ctx1\n-old1\n+new1\n"
        "@@\n-old2\n+new2\n ctx2\n"
        "*** End of File\n"
        "*** End Patch\n"
    )
    assert change.op is ChangeOp.UPDATE
    assert change.old_text == "ctx1\nold1\nold2\nctx2\n"
    assert change.new_text == "ctx1\nnew1\nnew2\nctx2\n"


def test_first_chunk_may_omit_its_header() -> None:
    (change,) = parse_apply_patch(
        "*** Begin Patch\n*** Update File: file2.py\n import foo\n+bar\n*** End Patch"
    )
    assert change.new_text == "import foo\nbar\n"


def test_blank_line_in_chunk_is_empty_context() -> None:
    (change,) = parse_apply_patch(
        "*** Begin Patch\n*** Update File: f\n@@\n a\n\n+b\n*** End Patch"
    )
    assert change.old_text == "a\n\n"
    assert change.new_text == "a\n\nb\n"


def test_whitespace_around_markers_and_crlf() -> None:
    text = "  *** Begin Patch \r\n *** Add File: x.txt \r\n+hi\r\n *** End Patch  \r\n"
    assert parse_apply_patch(text) == (FileChange(path="x.txt", op=ChangeOp.ADD, new_text="hi\n"),)


def test_heredoc_wrapped_patch_is_unwrapped() -> None:
    text = "<<'EOF'\n*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch\nEOF\n"
    assert parse_apply_patch(text) == (FileChange(path="gone.txt", op=ChangeOp.DELETE),)
    assert looks_like_patch(text)


def test_add_file_may_be_empty() -> None:
    (change,) = parse_apply_patch("*** Begin Patch\n*** Add File: empty\n*** End Patch")
    assert change == FileChange(path="empty", op=ChangeOp.ADD, new_text="")


@pytest.mark.parametrize(
    "path",
    ["../../etc/passwd", "/etc/shadow", "~/.ssh/authorized_keys", "a b/ünï.txt", "C:\\x\\y"],
)
def test_paths_are_kept_verbatim(path: str) -> None:
    changes = parse_apply_patch(
        f"*** Begin Patch\n*** Add File: {path}\n+x\n*** Update File: ok\n*** Move to: {path}\n"
        f"@@\n-a\n+b\n*** Delete File: {path}\n*** End Patch"
    )
    assert [c.path for c in changes] == [path, "ok", path]
    assert changes[1].move_to == path


def test_unicode_line_separators_do_not_split_lines() -> None:
    # Codex splits on \n only; U+2028 stays inside the path it belongs to.
    (change,) = parse_apply_patch("*** Begin Patch\n*** Delete File: a\u2028b\n*** End Patch")
    assert change.path == "a\u2028b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "first line must be"),
        ("*** Add File: x\n+y\n*** End Patch", "first line must be"),
        ("*** Begin Patch\n*** Add File: x\n+y\n", "last line must be"),
        ("*** Begin Patch", "last line must be"),
        ("*** Begin Patch\n*** End Patch", "changes no file"),
        ("*** Begin Patch\n@@\n-a\n+b\n*** End Patch", "line 2: '@@' is not a file header"),
        ("*** Begin Patch\n+orphan\n*** End Patch", "is not a file header"),
        ("*** Begin Patch\n*** Update File: t.py\n*** End Patch", "changes nothing"),
        ("*** Begin Patch\n*** Update File: t.py\n@@\n*** End Patch", "has no lines"),
        ("*** Begin Patch\n*** Update File: t\n@@\n-a\nzzz\n*** End Patch", "chunk header"),
        ("*** Begin Patch\n*** Update File: t\nzzz\n*** End Patch", "not a chunk line"),
        ("*** Begin Patch\n*** Add File: \n+x\n*** End Patch", "names no path"),
        ("*** Begin Patch\n*** Delete File: a\x00b\n*** End Patch", "NUL"),
        ("*** Begin Patch\n*** Update File: a\n*** Move to: \n@@\n+x\n*** End Patch", "no path"),
        ("<<'EOF'\n*** Begin Patch\n*** Delete File: a\nEOF", "last line must be"),
    ],
)
def test_malformed_patches_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_apply_patch(text)


def test_second_chunk_needs_a_header() -> None:
    with pytest.raises(InputError, match="expected a '@@' chunk header"):
        parse_apply_patch(
            "*** Begin Patch\n*** Update File: t\n@@\n-a\n+b\n*** End of File\n x\n*** End Patch"
        )
