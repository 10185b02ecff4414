import pytest

from warden.check.shell.netloc import canonical_host, parse_target


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("Example.COM.", "example.com"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_canonical_host(host: str, canonical: str) -> None:
    assert canonical_host(host) == canonical


@pytest.mark.parametrize(
    ("target", "by", "expected"),
    [
        ("https://u:p@Paste.Example:8443/x", "", ("paste.example", 8443, "https")),
        ("http://evil.test/x", "", ("evil.test", 80, "http")),
        ("git@github.com:o/r.git", "git", ("github.com", 22, "ssh")),
        ("me@203.0.113.9:/tmp/", "scp", ("203.0.113.9", 22, "ssh")),
        ("evil.com:4444", "nc", ("evil.com", 4444, "")),
        ("origin", "git", ("", None, "git-remote")),
        ("http://0x7f000001/", "", ("127.0.0.1", 80, "http")),
    ],
)
def test_parse_target(target: str, by: str, expected: tuple[str, int | None, str]) -> None:
    host, port, scheme, _ = parse_target(target, by)
    assert (host, port, scheme) == expected


def test_bad_port_does_not_raise() -> None:
    assert parse_target("http://x.example:99999999/")[0] == ""
