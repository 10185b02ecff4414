"""Find credentials in text an action carries, and redact them.

``find_secrets`` is on the hot path (every shell command is scanned), so it works in three stages:

1. **Gate.** One RE2 search for anything that could start a finding: a run of 20 or more token
   characters, or a credential word (``pass``, ``token``, ``key``, ``://`` ...). Most commands
   have neither and return after this single linear-time search (about 3 us on 200 bytes).
2. **Formats.** One RE2 pass over an alternation of vendor token formats whose prefixes make
   them precise (``AKIA``, ``ghp_``, ``glpat-``, ``xoxb-``, ``sk-ant-``, PEM private keys, JWTs
   ...), then context rules (``aws_secret_access_key = ...``, ``AccountKey=...``, passwords in
   URLs, ``Authorization:`` headers, ``password=...`` assignments), each run only when its
   trigger word occurs.
3. **Entropy.** Remaining runs of base64/base64url characters are reported as ``high-entropy``
   when they look random (Shannon entropy, character-class mix, letter-case balance) and are not
   a known benign shape (digests, SRI integrity strings, ``data:`` URIs, SSH public keys,
   certificates, UUIDs, URL paths).

Sources for the formats: gitleaks ``config/gitleaks.toml`` and detect-secrets plugins (rule
shapes); AWS IAM "Unique identifiers" (``AKIA``/``ASIA`` prefixes, base32 body); GitHub
"Behind GitHub's new authentication token formats" (2021, ``gh[pousr]_``); GitLab "Token
overview" (``glpat-`` and siblings); Slack "Token types"; Stripe "API keys"; RFC 7519 (JWT);
RFC 7468 (PEM labels); RFC 3986 section 3.2.1 (``user:password@`` userinfo, deprecated).
Shannon entropy: C. E. Shannon, "A Mathematical Theory of Communication" (1948), as used by
truffleHog and detect-secrets for unprefixed secrets.

Decisions:

* **Documented example keys are detected.** ``AKIAIOSFODNN7EXAMPLE`` and
  ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`` are format-identical to live keys; the checker
  cannot know which keys are live, an allowlist of "known examples" is one more thing an
  attacker can aim at, and the cost of a finding on an example is a prompt, not a leak.
  Placeholders that are *not* format-correct (``ghp_xxxx...``, ``YOUR_API_KEY``, ``${TOKEN}``,
  ``<token>``, ``changeme``) are not findings.
* **Pure hex strings are not reported on entropy alone.** They are indistinguishable from the
  digests that fill ordinary commands (git SHAs, sha256 checksums, image digests); a hex secret
  is still found in assignment context (``API_KEY=<hex>``), where the hex alphabet's entropy
  threshold applies.
* **A password equal to its user name is not reported** (``postgres:postgres@``,
  ``guest:guest@``): these are the default credentials of local development services.
* **Tokens inside URL paths are not reported on entropy alone** (document ids, content hashes);
  credentials in URLs are found by the userinfo, webhook and query-parameter rules.
* **Work is bounded.** Every pattern runs on RE2 (linear time, no backtracking); only the
  first :data:`SCAN_LIMIT` characters are scanned, at most :data:`MAX_CANDIDATES` matches are
  examined and at most :data:`MAX_HITS` findings kept. :func:`scan_secrets` says when a limit
  cut the analysis short, so the caller can add the ``analysis.incomplete`` marker (fail
  closed); :func:`redact_text` never passes unscanned text through.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

import re2

from warden.check.facts import SecretHit
from warden.check.secret_values import (
    CONTEXT_MIN_ENTROPY,
    CONTEXT_MIN_LEN,
    _context_value_ok,
    _is_placeholder,
    _looks_random,
    _next_is_code,
    _ok_format,
    shannon_entropy,
)

__all__ = [
    "KINDS",
    "MAX_CANDIDATES",
    "MAX_HITS",
    "SCAN_LIMIT",
    "SecretScan",
    "find_secrets",
    "redact",
    "redact_text",
    "scan_secrets",
    "shannon_entropy",
]

# Work caps. RE2 is linear, but the per-candidate Python work (entropy, hashing) is not free:
# 1 MiB keeps a worst-case call (every token a candidate) under ~100 ms while covering any
# realistic command, request body or config file write. Text past the limit is not analysed and
# the result says so.
SCAN_LIMIT = 1 << 20
# More findings than this in one field means the field is a dump of secrets (or an attack on the
# checker); the verdict will not change with the 257th, so stop and report incompleteness.
MAX_HITS = 256
# Regex matches examined per call (all stages). Each costs a few microseconds of Python; the cap
# bounds a hostile input (tens of thousands of near-miss candidates) to tens of milliseconds.
MAX_CANDIDATES = 4096

# Values longer than this in key=value context are documents or code, not credentials.
CONTEXT_MAX_LEN = 256
# Redactions show at most this many leading characters, and never more than 1/8 of the secret.
REDACT_PREFIX_MAX = 4

KINDS = frozenset(
    {
        "anthropic-key", "authorization-header", "aws-access-key-id", "aws-secret-access-key",
        "azure-connection-string", "azure-sas-token", "azure-storage-key", "basic-auth",
        "basic-auth-in-url", "database-url-with-password", "gcp-service-account", "generic-secret",
        "github-token", "gitlab-token", "google-api-key", "high-entropy", "huggingface-token",
        "jwt", "npm-token", "openai-key", "private-key", "pypi-token", "sendgrid", "slack-token",
        "slack-webhook", "stripe-key", "twilio",
    }
)


class SecretScan(NamedTuple):
    """Findings plus whether the whole text was analysed (``complete``)."""

    hits: tuple[SecretHit, ...]
    complete: bool


def redact(secret: str) -> str:
    """A printable stand-in for ``secret``: a short prefix, a fingerprint and the length.

    ``ghp_…3f2a9c1d(40)``: the prefix is at most :data:`REDACT_PREFIX_MAX` characters and at most
    one eighth of the secret (a 12-character password shows one character); the fingerprint is
    the first 32 bits of SHA-256, stable across runs so that log lines can be correlated. For a
    low-entropy secret (a weak password) those 32 bits let someone who already has a guess
    confirm it; they never let anyone recover an unknown strong secret. The result never contains
    a non-empty ``secret`` as a substring.
    """
    n = len(secret)
    prefix = secret[: min(REDACT_PREFIX_MAX, n // 8)]
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    out = f"{prefix}…{digest}({n})"
    if secret and secret in out:  # only for tiny secrets or a 2**-32 fixed point
        out = "…" if secret != "…" else "?"  # noqa: S105 (a mask, not a password)
    return out


# ---------------------------------------------------------------------------------------------
# Patterns (RE2 syntax: no backreferences or lookaround; linear time by construction).

# PEM body: base64, whitespace, RFC 1421 header fields (Proc-Type, DEK-Info), JSON "\n" escapes.
# A "-" is allowed only before an alphanumeric, so the body stops at the "-----END" footer without
# any look-ahead, keeping each match's cost proportional to its own length.
_PEM_BODY = r"(?:[A-Za-z0-9+/=\s:,.\\]|-[A-Za-z0-9])*"
_PK_BLOCK = (
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    + _PEM_BODY
    + r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?"
)
_ANY = 1 << 30

# (kind, pattern with exactly one capture group holding the secret, min length, max length),
# highest priority first. Leftmost-first alternation: at one position the earlier rule wins
# (sk-ant- before sk-). Lengths are checked in Python rather than with counted repetition
# ({36,251}), which would multiply the size of the compiled program and slow every search.
_FORMAT_RULES: tuple[tuple[str, str, int, int], ...] = (
    ("gcp-service-account", r'"private_key"\s*:\s*"(' + _PK_BLOCK + ")", 0, _ANY),
    ("private-key", "(" + _PK_BLOCK + ")", 0, _ANY),
    ("anthropic-key", r"\b(sk-ant-[A-Za-z0-9_-]+)", 40, _ANY),
    ("openai-key", r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]+)", 35, _ANY),
    ("aws-access-key-id", r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b", 20, 20),
    ("github-token", r"\b(gh[pousr]_[A-Za-z0-9]+)\b", 40, 255),
    ("github-token", r"\b(github_pat_[A-Za-z0-9_]+)\b", 47, 255),
    (
        "gitlab-token",
        r"\b((?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt|glimt|glagent|gloas)-[A-Za-z0-9_-]+)",
        25,
        _ANY,
    ),
    (
        "slack-webhook",
        r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]+)",
        50,
        _ANY,
    ),
    ("slack-token", r"\b(xox[abposre]-[0-9A-Za-z-]+)", 20, _ANY),
    ("slack-token", r"\b(xapp-\d-[A-Za-z0-9-]+)", 27, _ANY),
    ("stripe-key", r"\b((?:sk|rk)_live_[0-9A-Za-z]+)", 24, 255),
    ("stripe-key", r"\b(whsec_[A-Za-z0-9+/=]+)", 38, _ANY),
    ("google-api-key", r"\b(AIza[0-9A-Za-z_-]+)", 39, 39),
    ("npm-token", r"\b(npm_[A-Za-z0-9]+)\b", 40, 40),
    ("pypi-token", r"\b(pypi-AgE[A-Za-z0-9_-]+)", 58, _ANY),
    ("huggingface-token", r"\b(hf_[A-Za-z0-9]+)\b", 33, 43),
    ("sendgrid", r"\b(SG\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", 69, 69),
    ("twilio", r"\b(SK[0-9a-f]+)\b", 34, 34),
    ("jwt", r"\b(eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)", 24, _ANY),
)
class _LazyRE2:
    """An RE2 pattern compiled on first use. Most texts stop at the gate below, so a hook
    process that judges one plain command should not compile the dozen patterns behind it.
    Compiling twice from two threads is harmless (the results are the same)."""

    __slots__ = ("_rx", "_source")

    def __init__(self, source: str) -> None:
        self._source = source
        self._rx: re2._Regexp | None = None

    def get(self) -> re2._Regexp:
        rx = self._rx
        if rx is None:
            rx = self._rx = re2.compile(self._source)
        return rx

    def finditer(self, data: bytes) -> Iterator[re2._Match]:
        return self.get().finditer(data)  # type: ignore[no-any-return]

    @property
    def groups(self) -> int:
        return int(self.get().groups)


_FORMAT = _LazyRE2("|".join(p for _, p, _, _ in _FORMAT_RULES))
# The literal starts of the formats above: one cheap search decides whether _FORMAT runs at all.
_FORMAT_TRIGGER = re2.compile(
    r"AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|gl[a-z]{2,5}-|xox[abposre]-|xapp-|sk-"
    r"|[sr]k_live_|whsec_|AIza|npm_|pypi-AgE|hf_|SG\.|SK[0-9a-f]|eyJ|-----BEGIN|hooks\.slack"
)

# Anything that could start a finding: every format above holds a run of 20+ of these
# characters; context rules need one of the words. The basic-auth rule's options (``-u``,
# ``--user``, ``--proxy-user``) are followed by ``\s`` or ``=`` in every text it matches, so
# the gate asks for that too (a vertical tab as well: a superset of RE2's ``\s`` is enough).
# A bare ``-u`` is in ``--strip-unneeded``, ``qemu-user-static`` and ``--fail-under``: 127 of
# the bench corpus's 6,021 shell commands passed the gate on it alone, each scan finding
# nothing at ~134k instructions.
_GATE = re2.compile(
    r"[A-Za-z0-9+/=_.-]{20,}|(?i:pass|pwd|secret|token|key|auth|credential|://|mysql"
    r"|-u(?:ser)?[\t\n\v\f\r =])"
)
_TOKEN = re2.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")

_KEY_NAME_WORDS = (  # words in the names of keys that hold credentials
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key"
    r"|auth[_.-]?key|private[_.-]?key|credentials?"
    r"|(?:encryption|signing|master|jwt|hmac|session|client|app)[_.-]?key"
)
_VALUE = r"""(?:"([^"\r\n]+)"|'([^'\r\n]+)'|([^\s"'`;&|,(){}\[\]<>\\]+))"""


class _Context(NamedTuple):
    kind: str
    triggers: tuple[bytes, ...]  # lowercase literals; the rule runs only if one occurs
    pattern: _LazyRE2
    check: Callable[[str, str, int, int], bool]  # (text, value, match start, value end)
    min_len: int = CONTEXT_MIN_LEN
    max_len: int = CONTEXT_MAX_LEN


def _c(pattern: str) -> _LazyRE2:
    return _LazyRE2(pattern)



_PUBLIC_PEM = _LazyRE2(
    r"-----BEGIN (?:CERTIFICATE|TRUSTED CERTIFICATE|X509 CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY"
    r"|CERTIFICATE REQUEST|NEW CERTIFICATE REQUEST|X509 CRL|PGP PUBLIC KEY BLOCK|PGP SIGNATURE"
    r"|SSH2 PUBLIC KEY|DH PARAMETERS|EC PARAMETERS|PKCS7|CMS)-----"
    + _PEM_BODY
    + r"(?:-----END[A-Z0-9 ]{0,40}-----)?"
)
_URL = _LazyRE2(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
_DATA_URI = _LazyRE2(r"(?i)data:[a-z0-9.+/;=-]*;base64,[A-Za-z0-9+/=]+")


def _always(_text: str, _value: str, _start: int, _end: int) -> bool:
    return True


# Key names that hold identifiers, names or locations of secrets, not secrets: private_key_id,
# secretName, TOKEN_FILE, password-path (a separator or a camelCase hump before the word).
_NOT_SECRET_KEY = re.compile(
    r"(?:[_.-](?i:id|name|file|path|url|uri|type|length|ref)"
    r"|(?<=[a-z])(?:Id|ID|Name|File|Path|Url|URL|Uri|URI|Type|Length|Ref))$"
)


def _check_context(text: str, value: str, start: int, end: int) -> bool:
    key = text[start : end - len(value)].strip(" \t\"':=>]")
    if _NOT_SECRET_KEY.search(key):
        return False
    return _context_value_ok(value) and not _next_is_code(text, end)


def _check_url_password(_text: str, value: str, _start: int, _end: int) -> bool:
    if len(value) > CONTEXT_MAX_LEN:
        return False
    return not _is_placeholder(value) and value.lower() not in {"pass", "pwd", "x-oauth-basic"}


def _check_bearer(_text: str, value: str, _start: int, _end: int) -> bool:
    return (
        len(value) >= CONTEXT_MIN_LEN
        and not _is_placeholder(value)
        and shannon_entropy(value) >= CONTEXT_MIN_ENTROPY
    )


_DB_SCHEMES = frozenset(
    {
        "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss",
        "amqp", "amqps", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "couchdb",
        "neo4j", "neo4j+s", "bolt", "snowflake", "cassandra", "memcached",
    }
)

_URL_USERINFO = _LazyRE2(r"""\b([A-Za-z][A-Za-z0-9+.-]*)://[^\s:/@'"]*:([^\s@/'"]+)@""")

_CONTEXT_RULES: tuple[_Context, ...] = (
    _Context(
        "aws-secret-access-key",
        (b"secret",),
        _c(
            r"(?i)(?:aws[_-]?secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key"
            r"|secret[_-]?access[_-]?key)[\"'\]]?\s*(?:[:=]|=>|\s)\s*[\"']?"
            r"([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"
        ),
        _always,
        40,
        40,
    ),
    _Context(
        "azure-storage-key",
        (b"accountkey",),
        _c(r"(?i)\bAccountKey\s*=\s*([A-Za-z0-9+/]+={0,2})"),
        _always,
        86,
        90,
    ),
    _Context(
        "azure-connection-string",
        (b"sharedaccesskey",),
        _c(r"(?i)\bSharedAccessKey\s*=\s*([A-Za-z0-9+/]+={0,2})"),
        _always,
        40,
        50,
    ),
    _Context(
        "azure-sas-token",
        (b"sig=",),
        _c(r"[?&]sv=\d{4}-\d\d-\d\d&[^\s\"'#]*?\bsig=([A-Za-z0-9%+/=]+)"),
        _always,
        30,
    ),
    _Context(
        "authorization-header",
        (b"auth",),
        _c(
            r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|bot)\s+"
            r"([A-Za-z0-9._~+/=-]+)"
        ),
        _check_bearer,
    ),
    _Context(
        "basic-auth",
        (b"-u", b"--user"),
        _c(r"""(?:^|\s)(?:-u|--user|--proxy-user)(?:\s+|=)["']?[^\s:'"$-][^\s:'"]*:([^\s'"]+)"""),
        _check_url_password,
        1,
    ),
    _Context(
        "generic-secret",
        (b"mysql",),
        _c(r"""(?:^|\s)(?:-p|--password=)([^\s'"$-][^\s'"]+)"""),
        _check_context,
    ),
    _Context(  # ~/.netrc entries (curl, git, pip, heroku read them)
        "generic-secret",
        (b"machine",),
        _c(r"(?i)\bmachine\s+\S+\s+(?:login\s+\S+\s+)?password\s+([^\s\"']+)"),
        _check_context,
    ),
    _Context(  # key = value, "key": "value", key: value; and command-line flags --token VALUE
        "generic-secret",
        (b"pass", b"pwd", b"secret", b"token", b"key", b"credential"),
        _c(
            r"(?i)[a-z0-9_.-]*(?:" + _KEY_NAME_WORDS + r")[a-z0-9_.-]*"
            r"[\"'\]]{0,2}\s*(?::=|=>|:|=)\s*" + _VALUE + "|"
            r"(?:^|\s)--?[a-z0-9-]*(?:" + _KEY_NAME_WORDS + r")[a-z0-9-]*\s+" + _VALUE
        ),
        _check_context,
    ),
)


_TRIGGER_WORDS = frozenset(t for rule in _CONTEXT_RULES for t in rule.triggers)
#: Each trigger with its text: the scan looks for them in the lowered text as ``str`` (the
#: scanned bytes are ASCII, so the answers are the same), where ``in`` costs ~60 ns against
#: ~350 ns on ``bytes`` (Python 3.11; 14 triggers were ~5 us of every gate-passing scan).
_TRIGGER_TEXT = tuple((t, t.decode("ascii")) for t in sorted(_TRIGGER_WORDS))

# ---------------------------------------------------------------------------------------------
# Scan.


class _Spans:
    """Accepted, non-overlapping spans (few per call; a list is faster than a tree)."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str]] = []

    def overlaps(self, start: int, end: int) -> bool:
        return any(start < e and s < end for s, e, _ in self.items)

    def add(self, start: int, end: int, kind: str) -> bool:
        """Keep the span unless it overlaps one kept earlier; False once MAX_HITS are kept."""
        if not self.overlaps(start, end):
            self.items.append((start, end, kind))
        return len(self.items) < MAX_HITS


def _span(m: re2._Match, ngroups: int) -> tuple[int, int, int]:
    """(group index, start, end) of the first participating capture group, or (-1, 0, 0)."""
    for i in range(1, ngroups + 1):
        s, e = m.span(i)
        if s >= 0:
            return i - 1, s, e
    return -1, 0, 0


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _benign_containers(data: bytes, low: bytes) -> list[tuple[int, int]]:
    """Spans whose tokens are not secrets: public PEM blocks, URLs, data: URIs."""
    spans: list[tuple[int, int]] = []
    if b"-----begin" in low:
        spans += [m.span() for m in _PUBLIC_PEM.finditer(data)]
    if b"://" in data:
        spans += [m.span() for m in _URL.finditer(data)]
    if b"base64," in low:
        spans += [m.span() for m in _DATA_URI.finditer(data)]
    return spans


def _bytes_searcher(rx: re2._Regexp) -> Callable[[bytes], bool]:
    """``rx.search(data) is not None`` on bytes, without the wrapper's generator and match
    object (the gate runs on every text an action carries; most stop there)."""
    raw = getattr(rx, "_regexp", None)
    anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    if raw is None or anchor is None:
        return lambda data: rx.search(data) is not None
    return lambda data: bool(raw.Match(anchor, data, 0, len(data))[0][0] != -1)


_gate_hit = _bytes_searcher(_GATE)
_format_hit = _bytes_searcher(_FORMAT_TRIGGER)


#: Texts up to this many characters are remembered by :func:`_scan` (one at a time).
MEMO_CHARS = 1 << 16

#: The last text past the gate that :func:`_scan` answered for, with its answer: ``(text,
#: spans, exhausted)``. A decision scans its command for facts and then, when a rule matched,
#: redacts the same text for the finding's evidence: that second scan repeated the first (on
#: the bench corpus, 836 of 1,221 redactions; a decoded reverse shell's entropy tests ran
#: twice). One entry, a pure function's answer for an equal text, replaced whole (a tuple read
#: through one reference is consistent when threads race: the worst case is a miss). Texts
#: the gate stops are not remembered: the gate is their whole scan.
_last_scan: tuple[str, tuple[tuple[int, int, str], ...], bool] | None = None


def _scan(text: str) -> tuple[list[tuple[int, int, str]], bool]:
    """Accepted (start, end, kind) spans of the first SCAN_LIMIT characters, and whether a work
    cap (MAX_HITS, MAX_CANDIDATES) stopped the scan early ("exhausted"). A new list each call
    (callers sort it)."""
    global _last_scan
    text = text[:SCAN_LIMIT]
    last = _last_scan
    if last is not None and (last[0] is text or last[0] == text):
        return list(last[1]), last[2]
    # Every pattern is ASCII, so a non-ASCII character can only ever be a separator; encoding it
    # as one "?" byte keeps offsets equal to str indexes and lets RE2 skip UTF-8 bookkeeping.
    data = text.encode("ascii", "replace")
    if not _gate_hit(data):
        return [], False
    items, exhausted = _scan_gated(text, data)
    if len(text) <= MEMO_CHARS:
        _last_scan = (text, tuple(items), exhausted)
    return items, exhausted


def _scan_gated(text: str, data: bytes) -> tuple[list[tuple[int, int, str]], bool]:
    """:func:`_scan` of a text that passed the gate (``data``: its ASCII bytes)."""
    found = _Spans()
    budget = MAX_CANDIDATES

    if _format_hit(data):
        for m in _FORMAT.finditer(data):
            budget -= 1
            if budget < 0:
                return found.items, True
            i, s, e = _span(m, len(_FORMAT_RULES))
            kind, _, lo, hi = _FORMAT_RULES[i]
            if lo <= e - s <= hi and _ok_format(kind, text[s:e]) and not found.add(s, e, kind):
                return found.items, True

    low = data.lower()
    low_text = low.decode("ascii")  # ASCII by construction (see above)
    present = {t for t, word in _TRIGGER_TEXT if word in low_text}
    for rule in _CONTEXT_RULES:
        if present.isdisjoint(rule.triggers):
            continue
        ngroups = rule.pattern.groups
        for m in rule.pattern.finditer(data):
            budget -= 1
            if budget < 0:
                return found.items, True
            _, s, e = _span(m, ngroups)
            ok = s >= 0 and rule.min_len <= e - s <= rule.max_len and not found.overlaps(s, e)
            ok = ok and rule.check(text, text[s:e], m.start(), e)
            if ok and not found.add(s, e, rule.kind):
                return found.items, True

    if "://" in low_text:  # no letter in it: as `b"://" in data`
        for m in _URL_USERINFO.finditer(data):
            budget -= 1
            if budget < 0:
                return found.items, True
            s, e = m.span(2)
            user = text[m.start() : s - 1].rpartition("/")[2]
            if found.overlaps(s, e) or text[s:e] == user:
                continue
            if _check_url_password(text, text[s:e], s, e):
                scheme = text[m.start(1) : m.end(1)].lower()
                db = scheme in _DB_SCHEMES or scheme.split("+")[0] in _DB_SCHEMES
                kind = "database-url-with-password" if db else "basic-auth-in-url"
                if not found.add(s, e, kind):
                    return found.items, True

    excluded: list[tuple[int, int]] | None = None  # computed on the first random-looking token
    for m in _TOKEN.finditer(data):
        budget -= 1
        if budget < 0:
            return found.items, True
        s, e = m.span()
        if (s and data[s - 1] == 0x24) or data[max(0, s - 3) : s] == b"h1:":
            continue  # crypt(3) hashes ($2b$12$...) and $VARIABLES; go.sum module hashes
        if found.overlaps(s, e) or not _looks_random(text[s:e]):
            continue
        if excluded is None:
            excluded = _benign_containers(data, low)
        if not _inside(excluded, s, e) and not found.add(s, e, "high-entropy"):
            return found.items, True  # (not inside certificates, URLs, data: URIs)
    return found.items, False


#: The answer for text with no secret, scanned whole (shared: a NamedTuple is immutable).
_CLEAN = SecretScan((), complete=True)


def scan_secrets(text: str, field: str) -> SecretScan:
    """Find secrets in ``text`` (the action field named ``field``), and say if analysis was whole.

    ``complete`` is False when ``text`` is longer than :data:`SCAN_LIMIT` (the tail was not
    read) or a work cap (:data:`MAX_HITS`, :data:`MAX_CANDIDATES`) stopped the scan; the caller
    should then add an ``analysis.incomplete`` marker rather than treat the text as clean.
    """
    items, exhausted = _scan(text)
    if not items and not exhausted and len(text) <= SCAN_LIMIT:
        return _CLEAN  # most texts: nothing to build
    items.sort()
    hits = tuple(
        SecretHit(kind=kind, field=field, span=(s, e), redacted=redact(text[s:e]))
        for s, e, kind in items
    )
    return SecretScan(hits, complete=not exhausted and len(text) <= SCAN_LIMIT)


def find_secrets(text: str, field: str) -> tuple[SecretHit, ...]:
    """Secrets found in the first :data:`SCAN_LIMIT` characters of ``text``, in span order.

    Use :func:`scan_secrets` to learn whether the scan was complete.
    """
    return scan_secrets(text, field).hits


def redact_text(text: str) -> str:
    """``text`` with every secret found replaced by :func:`redact` of it.

    Fails closed: text past :data:`SCAN_LIMIT` is replaced by a marker instead of being passed
    through, and if a work cap stopped the scan (so any part may hold a secret not yet found)
    the whole text is replaced by a marker.
    """
    items, exhausted = _scan(text)
    if exhausted:
        return f"…[{len(text)} characters not shown: too many secret candidates to check]"
    items.sort()
    out: list[str] = []
    pos = 0
    for s, e, _ in items:
        out.append(text[pos:s])
        out.append(redact(text[s:e]))
        pos = e
    stop = min(len(text), SCAN_LIMIT)
    out.append(text[pos:stop])
    if stop < len(text):
        out.append(f"…[{len(text) - stop} characters not scanned]")
    return "".join(out)
