from warden.check.tomlsrc import Locator, msgspec_path, read_toml
from warden.errors import ConfigIssue

TEXT = """[pack]
name = "x"

[[rule]]
id = "a"
match.file = { op = "read" }

[[rule]]
id = "b"
[rule.match.exec]
name = "x"
"""


def test_locator_finds_keys_tables_and_arrays() -> None:
    loc = Locator(TEXT)
    assert loc.line_of(("pack", "name")) == 2
    assert loc.line_of(("rule", 0)) == 4
    assert loc.line_of(("rule", 0, "match", "file", "op")) == 6
    assert loc.line_of(("rule", 1, "id")) == 9
    assert loc.line_of(("rule", 1, "match", "exec", "name")) == 11
    assert loc.line_of(("nothing",)) is None


def test_syntax_error_is_an_issue_with_a_line() -> None:
    issue = read_toml("f.toml", text='a = 1\nb = "unterminated\n')
    assert isinstance(issue, ConfigIssue)
    assert issue.line == 2
    assert "f.toml:2" in str(issue)


def test_missing_file_is_an_issue(tmp_path) -> None:
    issue = read_toml(tmp_path / "nope.toml")
    assert isinstance(issue, ConfigIssue)
    assert "cannot read" in issue.message


def test_msgspec_path() -> None:
    path, msg = msgspec_path("Object contains unknown field `paht` - at `$.match.file`")
    assert path == ("match", "file", "paht")
    assert msg == "Object contains unknown field `paht`"
    path, _ = msgspec_path("Expected `str`, got `int` - at `$.rule[3].id`")
    assert path == ("rule", 3, "id")
