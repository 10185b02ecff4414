"""Is this value a secret? The judgement calls of :mod:`warden.check.secrets`.

Formats with vendor prefixes are precise; values found in assignment context or as loose tokens
are not, so they are judged here: placeholders and trivial values are never secrets, and
unprefixed tokens must look random (Shannon entropy over the value's alphabet, a mix of
character classes, few dictionary-like words, few long runs). Thresholds are named constants
with their reasons; ``tests/corpus/secrets`` is the corpus they were tuned on.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Entropy is estimated on a token's first characters; a longer sample adds cost, not accuracy.
ENTROPY_SAMPLE = 1024
# A high-entropy candidate must be at least this long: shorter random-looking runs are common in
# ordinary text (short ids, minified names) and carry too few bits to be a credential on their own.
HIGH_ENTROPY_MIN_LEN = 20
# Values assigned to secret-named keys must be at least this long (shorter ones are flags,
# numbers, booleans and placeholders far more often than credentials).
CONTEXT_MIN_LEN = 8
# Private key blocks must carry at least this many body characters (base64 of ~48 bytes): a
# bare "-----BEGIN RSA PRIVATE KEY-----" header in a grep pattern is not a key.
PRIVATE_KEY_MIN_BODY = 64
# ... and at least this many distinct characters among them (random base64 of that length has
# ~50; a filler body of "AAAA..." or "xxxx..." has a handful).
PRIVATE_KEY_MIN_DISTINCT = 16
# Entropy floor (bits per character) for values in secret context (password=..., tokens in
# headers): random passwords of 8+ characters from mixed classes score above it, English words
# and identifiers mostly below.
CONTEXT_MIN_ENTROPY = 3.0
# Entropy floor for hex values in secret context: random hex of 16+ characters scores ~3.5-4.0.
HEX_MIN_ENTROPY = 3.0
# Share of uppercase among letters in a random mixed-case token is ~0.5 (binomial); CamelCase
# identifiers sit near 1/word-length (~0.2). Tokens outside this band are treated as words.
UPPER_SHARE_BAND = (0.25, 0.8)

# Token prefixes of benign content. Base64 of binary files: PNG, JPEG, GIF, WOFF/WOFF2,
# TrueType/OpenType, PDF, RIFF/WebP, SVG, XML, ZIP, gzip. Public keys: SSH blobs (RFC 4253
# 6.6), minisign ("Ed" + key id: RWQ..RWT). Digests: SRI (W3C Subresource Integrity). C++
# symbols: Itanium ABI mangling (_ZN, _ZSt, _ZT).
_BENIGN_TOKEN_PREFIXES = (
    "iVBORw0KGgo", "/9j/", "R0lGOD", "d09GMg", "d09GRg", "AAEAAAA", "T1RUTw", "JVBERi0", "UklGR",
    "PHN2Zy", "PD94bWw", "UEsDB", "H4sI", "AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh",
    "AAAAGnNrLXNzaC1", "RWQ", "RWR", "RWS", "RWT", "sha1-", "sha256-", "sha384-", "sha512-",
    "md5-", "_ZN", "_ZSt", "_ZT",
)


def shannon_entropy(s: str) -> float:
    """Shannon entropy of ``s`` in bits per character (0.0 for the empty string)."""
    n = len(s)
    if n == 0:
        return 0.0
    # H = -sum(p log2 p) with p = c/n, rearranged to one log per distinct character.
    return math.log2(n) - sum(c * math.log2(c) for c in Counter(s).values()) / n





_PLACEHOLDER_WORDS = (
    "your", "example", "sample", "placeholder", "changeme", "change_me", "change-me", "redacted",
    "dummy", "replace", "insert", "xxxx", "****", "....", "<", ">", "${", "{{", "%(", "secret",
    "password", "passwd", "token", "undefined", "process.env", "os.environ", "getenv",
)
_PLACEHOLDER_RE = re.compile("|".join(map(re.escape, _PLACEHOLDER_WORDS)))
_PLACEHOLDER_STARTS = ("$", "%", "@", "/", "./", "../", "~", "!", "*", "&")
_FILE_SUFFIXES = (".pem", ".key", ".json", ".txt", ".yaml", ".yml", ".crt", ".p12", ".env", ".cfg")


# Small helpers on bounded strings use the stdlib engine (see _WORDS below for why that is safe).
_RUNS = {n: re.compile(r"(.)\1{%d}" % (n - 1), re.DOTALL) for n in (4, 5, 6)}  # noqa: UP031
_DIGIT = re.compile(r"[0-9]")
_HEX_OR_DASH = re.compile(r"[0-9a-fA-F-]+")
_UPPER = re.compile(r"[A-Z]")
_ALPHA = re.compile(r"[A-Za-z]")
_CLASS_RUNS = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[^a-zA-Z0-9]+")
_HEX = frozenset("0123456789abcdefABCDEF")


def _has_run(s: str, n: int) -> bool:
    """True if ``s`` holds ``n`` (4, 5 or 6) identical characters in a row (``xxxx``)."""
    return _RUNS[n].search(s) is not None


def _is_trivial(value: str) -> bool:
    """Format-correct but obviously filler: long runs of one character or very few distinct."""
    sample = value[:ENTROPY_SAMPLE]
    return len(set(sample)) < 6 or _has_run(sample, 6)


def _is_placeholder(value: str) -> bool:
    low = value.lower()
    return (
        value.startswith(_PLACEHOLDER_STARTS)
        or _PLACEHOLDER_RE.search(low) is not None
        or low.endswith(_FILE_SUFFIXES)
        or _has_run(value, 4)
    )


def _classes(s: str) -> tuple[bool, bool, bool]:
    """Whether ``s`` has lowercase, uppercase and digit characters (ASCII)."""
    return s.upper() != s, s.lower() != s, _DIGIT.search(s) is not None


def _upper_share(s: str) -> float:
    letters = len(_ALPHA.findall(s))
    return len(_UPPER.findall(s)) / letters if letters else 0.0


def _entropy_floor(n: int) -> float:
    """Entropy that ~99% of random base64/base62 strings of length ``n`` reach (bits per char).

    The entropy of n draws from 64 symbols is at most log2(n) for n < 64; sampling 5,000 random
    strings per length (tests/unit/check/test_secrets.py keeps the check) puts the 1st percentile
    about 0.75 bit below log2(n) at n=20, drifting lower with n. Capped at 4.5 bits, the
    long-standing truffleHog threshold for base64.
    """
    return min(4.5, math.log2(n) - 0.75 - 0.006 * (n - HIGH_ENTROPY_MIN_LEN))


# Adjacent characters of a random base62/base64 string change class (lower/upper/digit/other)
# ~64% of the time; below 35% (the ~0.5th percentile at 20 characters) the token is made of runs
# (words, acronyms, version numbers): MLKEM768X25519PrivateKey 30%, PKCS7EnvelopeBuilder 26%.
TRANSITION_MIN = 0.35
# Share of a token covered by word-shaped runs ([A-Z]?[a-z]{3,} or [A-Z]{4,}); random strings of
# 20+ characters exceed 0.7 in under 1% of samples, identifiers and paths usually do.
WORDINESS_MAX = 0.7
# Stdlib re is safe for the two patterns below: they only see bounded strings (a token sample of
# ENTROPY_SAMPLE characters, a value of CONTEXT_MAX_LEN) and cannot backtrack more than a few
# characters per position; it avoids RE2's per-call overhead on these tiny inputs.
_WORDS = re.compile(r"[A-Z]?[a-z]{3,}|[A-Z]{4,}")


_IDENTIFIER_CHAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _wordy(sample: str) -> bool:
    return sum(len(w) for w in _WORDS.findall(sample)) > WORDINESS_MAX * len(sample)


def _looks_random(value: str) -> bool:
    """Standalone test for an unprefixed base64/base64url token (no context)."""
    sample = value[:ENTROPY_SAMPLE]
    # Cheapest tests first (C-speed str methods): most tokens in commands are paths and names.
    if sample.lower() == sample or sample.upper() == sample or _DIGIT.search(sample) is None:
        return False  # needs upper, lower and digit
    if value.startswith(_BENIGN_TOKEN_PREFIXES) or _HEX_OR_DASH.fullmatch(sample):
        return False  # file magic, public keys, SRI digests; hex digests and UUIDs
    share = _upper_share(sample)
    if not UPPER_SHARE_BAND[0] <= share <= UPPER_SHARE_BAND[1] or _has_run(sample, 5):
        return False
    changes = len(_CLASS_RUNS.findall(sample)) - 1
    if changes < TRANSITION_MIN * (len(sample) - 1):
        return False
    if _wordy(sample):
        return False
    return shannon_entropy(sample) >= _entropy_floor(len(sample))


def _context_value_ok(value: str) -> bool:
    """A value in secret context (password=..., Bearer ...) that is a literal credential."""
    if len(value) < CONTEXT_MIN_LEN or _is_placeholder(value) or "://" in value:
        return False
    if any(ch.isspace() for ch in value):  # a phrase or a command line, not a credential
        return False
    if all(ch in _HEX for ch in value):
        return (
            len(value) >= 16
            and any(ch.isdigit() for ch in value)
            and any(ch.isalpha() for ch in value)
            and shannon_entropy(value) >= HEX_MIN_ENTROPY
        )
    lower, upper, digit = _classes(value)
    if lower + upper + digit < 2:
        return False
    if not digit and _upper_share(value) < UPPER_SHARE_BAND[0]:  # CamelCase identifier
        return False
    if _IDENTIFIER_CHAIN.fullmatch(value) and ("." in value or _wordy(value)):
        return False  # an expression or a name: settings.API_KEY, ed25519.Ed25519PrivateKey
    return shannon_entropy(value[:ENTROPY_SAMPLE]) >= CONTEXT_MIN_ENTROPY


def _next_is_code(text: str, end: int) -> bool:
    """The value is followed by a call, index or attribute: it is an expression, not a literal."""
    return end < len(text) and text[end] in "([."


def _ok_format(kind: str, value: str) -> bool:
    if kind == "private-key" or kind == "gcp-service-account":
        # no run test here: key encodings hold runs of "A" (zero bytes in base64), e.g. every
        # OpenSSH private key ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE...")
        parts = value.split("-----")  # "", "BEGIN ...", body, "END ...", ""
        body = parts[2] if len(parts) > 2 else ""
        head = body[: 4 * PRIVATE_KEY_MIN_BODY]
        return (
            sum(ch.isalnum() for ch in head) >= PRIVATE_KEY_MIN_BODY
            and len(set(head)) >= PRIVATE_KEY_MIN_DISTINCT
        )
    if _is_trivial(value):
        return False
    if kind in ("openai-key", "anthropic-key", "huggingface-token"):
        tail = value.split("_", 1)[-1] if kind == "huggingface-token" else value[3:]
        tail = tail[:ENTROPY_SAMPLE]
        if _is_placeholder(tail):
            return False
        lower, upper, _ = _classes(tail)
        return lower and upper and shannon_entropy(tail) >= 3.5
    if kind == "slack-token":
        return any(ch.isdigit() for ch in value) and not _is_placeholder(value[5:])
    return True


