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


def test_plain_name_fast_path_agrees_with_the_full_canonicalisation(monkeypatch) -> None:
    """Names the fast path returns as they are get the same answer from the full path (IP
    parsing, numeric IPv4 forms, IDNA), on random strings over the characters that matter."""
    import random
    import re

    from warden.check.shell import netloc

    alphabet = "abcdefgxyz0123456789.-_:[]%AZé"
    rng = random.Random(7)
    hosts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
             for _ in range(20_000)]  # fmt: skip
    hosts += ["registry.npmjs.org", "a" * 64 + ".com", "x..y", "-a", "0x7f.1", "box", "g",
              "_dmarc.example.com", "a.b.c.d.e", "dead.beef", "0xg.1"]  # fmt: skip
    fast = [canonical_host(h) for h in hosts]
    assert sum(1 for h in hosts if netloc._PLAIN_NAME.fullmatch(h.lower())) > 3_000
    monkeypatch.setattr(netloc, "_PLAIN_NAME", re.compile(r"(?!)"))  # the full path only
    assert [canonical_host(h) for h in hosts] == fast
