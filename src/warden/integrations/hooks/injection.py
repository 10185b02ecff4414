"""A small offline detector of instructions planted in tool output (indirect prompt injection).

What an agent reads (a web page, an issue, a README, a file, an MCP result) can carry text
written *to the agent*: "ignore your previous instructions", "do not tell the user", a fake
system turn, characters a person cannot see. The detector does not decide anything: a hit
becomes a warning added to the agent's context and a note in the audit log, so a false positive
costs a sentence, and a miss leaves the actions that follow to the engine, which judges each of
them on its own.

The method is a weighted list of signals (regular expressions over the text after invisible
characters are removed and look-alike letters folded, ``warden.check.text``); a text is flagged
when its signals add up to :data:`THRESHOLD`. One *strong* signal is enough (an override of
earlier instructions, a chat-template role token, a demand to hide something from the user,
Unicode tag characters); *medium* and *weak* signals (a sentence addressed to an AI, "new
instructions:", a request to send credentials, invisible characters) need company. Each signal
counts once however often it occurs, so a long document does not add up by repetition.

Sources for the signal list: Greshake et al., "Not what you've signed up for: Compromising
Real-World LLM-Integrated Applications with Indirect Prompt Injection" (2023); OWASP Top 10 for
LLM Applications, LLM01 Prompt Injection; the "ASCII smuggling" technique with Unicode tag
characters (U+E0000..U+E007F). ``tests/integrations/test_injection.py`` runs the detector over a
benign corpus (the Python standard library's sources and docs) and a set of attack strings.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["SCAN_LIMIT", "THRESHOLD", "InjectionHit", "InjectionScan", "scan_injection"]

#: Characters of output examined. Injected text that works sits where the model reads it, and a
#: hook has a latency budget of milliseconds; past this the scan says it was incomplete.
SCAN_LIMIT = 512 * 1024

#: Score at which a text is flagged: one strong signal, or a medium one with another signal.
THRESHOLD = 3

_STRONG, _MEDIUM, _WEAK = 3, 2, 1

_F = re.MULTILINE  # patterns run on lower-cased text

#: (name, weight, anchors, pattern). A signal's pattern runs only when one of its anchors (plain
#: substrings, found at C speed) occurs in the lower-cased text: most output contains none, and
#: a regular expression with a leading alternation costs microseconds per character in Python.
#: Quantifiers are bounded, so each match attempt is short.
_SIGNALS: tuple[tuple[str, int, tuple[str, ...], re.Pattern[str]], ...] = (
    ("override-instructions", _STRONG,
     ("ignore", "disregard", "forget", "override", "abandon", "discard"), re.compile(
        r"\b(?:ignore|disregard|forget|override|abandon|discard)\s+(?:(?:all|any|of|the|your|"
        r"my|these|those)\s+){0,3}(?:previous|prior|above|earlier|preceding|foregoing|original|"
        r"initial|system|existing)\s+(?:instructions?|prompts?|directions|directives|guidelines|"
        r"rules|messages|context|constraints)\b", _F)),
    ("forget-everything", _STRONG, ("forget",), re.compile(
        r"\bforget\s+(?:everything|all)\s+(?:you\s+(?:were|have\s+been)\s+told|above|before)\b",
        _F)),
    ("conceal-from-user", _STRONG, ("user", "human", "operator"), re.compile(
        r"\b(?:do\s+not|don'?t|never)\s+(?:tell|inform|mention|reveal|disclose|alert|notify)\s+"
        r"(?:this\s+to\s+|it\s+to\s+|anything\s+to\s+)?(?:the\s+|your\s+)?(?:user|human|"
        r"operator)s?\b", _F)),
    ("behind-the-user", _MEDIUM, ("user", "human", "operator"), re.compile(
        r"\bwithout\s+(?:telling|informing|alerting|notifying)\s+(?:the\s+|your\s+)?(?:user|"
        r"human|operator)s?\b", _F)),
    ("addressed-to-ai", _MEDIUM,
     ("ai", "llm", "assistant", "agent", "model", "claude", "codex", "gemini", "copilot"),
     re.compile(
        r"\b(?:if\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|(?:coding\s+)?assistant|"
        r"(?:coding\s+|ai\s+)?agent)|(?:attention|note|message|instructions?|important)\s*"
        r"(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llms?|assistants?|(?:ai\s+|coding\s+)?"
        r"agents?|language\s+models?|claude|codex|gemini|copilot)|(?:dear|hey|hello|hi)\s+"
        r"(?:ai|assistant|agent|claude|codex|gemini|copilot)\b)", _F)),
    ("new-instructions", _MEDIUM, ("instruction", "directive", "task", "orders", "prompt"),
     re.compile(
        r"\b(?:new|updated|real|actual|true|hidden|secret|additional)\s+(?:system\s+)?"
        r"(?:instructions?|directives?|task|orders)\s*:|\bsystem\s+prompt\s*:", _F)),
    ("send-secrets", _MEDIUM,
     ("send", "upload", "post", "mail", "exfiltrate", "forward", "leak", "paste", "transmit"),
     re.compile(
        r"\b(?:send|upload|post|e-?mail|exfiltrate|forward|leak|paste|transmit)\b[^.\n]{0,40}"
        r"\b(?:credentials?|secrets?|api[\s_-]?keys?|access\s+tokens?|passwords?|ssh\s+keys?|"
        r"private\s+keys?|id_rsa|\.env\b|environment\s+variables)", _F)),
    ("hidden-comment", _MEDIUM, ("<!--",), re.compile(
        r"<!--[^>]{0,400}\b(?:ignore|assistant|ai\s+agent|instructions?|you\s+must)\b[^>]{0,400}"
        r"-->", _F)),
    ("persona-switch", _WEAK, ("you are now", "from now on", "pretend"), re.compile(
        r"\byou\s+are\s+now\s+(?:a|an|in|the)\b|\bfrom\s+now\s+on,?\s+you\b|\bpretend\s+"
        r"(?:to\s+be|you\s+are)\b", _F)),
    ("imperative-action", _WEAK, ("you must", "you should", "you need", "you have"), re.compile(
        r"\byou\s+(?:must|should|need\s+to|have\s+to)\s+(?:immediately\s+|now\s+|first\s+)?"
        r"(?:run|execute|call|invoke|curl|wget|download|send|upload|delete|remove|disable)\b",
        _F)),
    ("role-line", _WEAK, ("system", "assistant"),
     re.compile(r"^[ \t]*(?:system|assistant)[ \t]*:[ \t]*\S", _F)),
)

#: Chat-template role tokens, matched case-sensitively on the original text (``[INST]`` is a
#: Llama token; ``[inst]`` is an index in code).
_CHAT_TOKENS = re.compile(
    r"<\|im_start\|>|<\|im_end\|>|<\|start_header_id\|>|<\|system\|>|<\|begin_of_text\|>|"
    r"\[/?INST\]|<<SYS>>"
)

#: Unicode tag characters: invisible, and read by models as the ASCII they shadow.
_TAGS = re.compile("[\U000e0000-\U000e007f]")


class InjectionHit(NamedTuple):
    """One signal that fired: its name, weight, and the matched text (clipped)."""

    signal: str
    weight: int
    text: str


class InjectionScan(NamedTuple):
    """The signals found, whether they add up to a flag, and whether all text was read."""

    hits: tuple[InjectionHit, ...]
    flagged: bool
    complete: bool

    @property
    def score(self) -> int:
        return sum(h.weight for h in self.hits)


def _normalise(text: str) -> str:
    """Invisible characters removed, look-alikes folded (text.plain_reading, loaded lazily)."""
    from warden.check.text import plain_reading

    return plain_reading(text)


def scan_injection(text: str) -> InjectionScan:
    """Signals of planted instructions in the first :data:`SCAN_LIMIT` characters of ``text``."""
    complete = len(text) <= SCAN_LIMIT
    head = text[:SCAN_LIMIT]
    hits: list[InjectionHit] = []
    normal = head
    if not head.isascii():
        tag = _TAGS.search(head)
        if tag:
            hits.append(InjectionHit("unicode-tag-characters", _STRONG, f"U+{ord(tag[0]):05X}"))
        from warden.check.text import find_invisible

        if find_invisible(head):
            hits.append(InjectionHit("invisible-characters", _WEAK, "invisible characters"))
        normal = _normalise(head)  # ASCII reads as it is
    token = _CHAT_TOKENS.search(normal) if ("<" in normal or "[" in normal) else None
    if token:
        hits.append(InjectionHit("chat-role-token", _STRONG, token[0]))
    body = normal.lower()
    contains = body.__contains__
    for name, weight, anchors, pattern in _SIGNALS:
        if not any(map(contains, anchors)):  # a C loop: no generator frame per anchor
            continue
        found = pattern.search(body)
        if found:
            hits.append(InjectionHit(name, weight, found[0][:120]))
    score = sum(h.weight for h in hits)
    return InjectionScan(tuple(hits), flagged=score >= THRESHOLD, complete=complete)
