"""Elicitation: a server asking the *user* for input through the client, and the user's answer.

``elicitation/create`` (MCP 2025-06-18 and later) lets a server put a form in front of the user
(``mode: "form"``, a flat ``requestedSchema``) or ask the user to open a URL (``mode: "url"``,
2025-11-25 and later). The specification (``client/elicitation``, "User Interaction Model" and
"Form Mode Security") says servers MUST NOT use form mode for sensitive information: passwords,
API keys, access tokens, payment credentials; those go through URL mode, to a page of the
service's own. A rogue or hijacked server that shows a form "your session expired, paste your
GitHub token" is phishing the user through the agent's trusted UI; a URL-mode request can send
the user to a look-alike host or carry a pre-authenticated link. Where the request travels:

- 2025-06-18 and 2025-11-25: a JSON-RPC request from the server (``elicitation/create``, with an
  id); the user's answer is the client's JSON-RPC response (``ElicitResult``). 2025-11-25 also
  has the ``URLElicitationRequiredError`` (code ``-32042``): an error answer to a client request
  whose ``data.elicitations`` lists URL-mode requests.
- 2026-07-28 (multi round-trip requests, ``basic/patterns/mrtr``): an ``input_required`` result of
  ``tools/call``, ``resources/read`` or ``prompts/get`` whose ``inputRequests`` map holds the
  ``elicitation/create`` (and ``sampling/createMessage``) requests; the answers come back in the
  retried request's ``params.inputResponses``.

The session (:mod:`.session`) finds them in each of those places and calls the pure functions
here. What flags a request (:func:`inspect_elicitation`):

- **sensitive-request** (form mode): a property whose name, title or description, or a message
  that asks for it, names a secret: passwords and passphrases, API keys and access tokens,
  client secrets, private and SSH keys, session cookies, 2FA/OTP/verification codes, recovery
  phrases, card numbers and CVV codes, bank account and routing numbers, social security
  numbers, the contents of credential files (``~/.ssh``, ``.env``, ``.aws/credentials``), and a
  property marked ``writeOnly`` or ``format: "password"``. A property that is *about* a secret
  (``secret_name``, "Name of the API key to revoke", "Paste your SSH public key", "Token
  budget") is not one: the name's last word and the words around a phrase decide;
- **injection**: the hooks' planted-instruction detector
  (:func:`~warden.integrations.hooks.injection.scan_injection`) over the message and every text
  of the schema, as for sampling requests;
- **url-*** (URL mode, and URLs in a form's texts): a scheme other than ``https`` (plain ``http``
  only to a loopback host, the specification's development case), user info in the URL
  (``https://github.com@evil.example/``), a host that is not plain ASCII (an IDN, the
  specification's Punycode warning), a secret in the URL (:mod:`warden.check.secrets`) or a
  query parameter that carries one (``access_token=``, ``api_key=``, a signature: a
  pre-authenticated link, which the specification forbids), and whatever the policy's engine
  refuses for a GET of that URL (``[network] deny``: rule ``policy.host-denied``).

The answer (:func:`inspect_answer`) is scanned for secrets, and the values of fields the request
marked sensitive are redacted in the record whatever the scan finds (a password has no format).
The answer is not blocked here: the user typed it into the client's own form, could see the
request and decline it, and a flagged request never reached them unless ``--keep-flagged``; the
record says that a secret went to the server. The session refuses a secret-looking answer only
when the policy says ``[mcp] elicitation_secrets = "deny"`` (and then rewrites the note).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "AnswerInspection",
    "ElicitInspection",
    "inspect_answer",
    "inspect_elicitation",
    "sensitive_texts",
]

#: Characters of one request's texts examined (a form is a few sentences).
MAX_TEXT = 64 * 1024
#: Properties of one form examined (the specification's forms are flat and short).
MAX_PROPERTIES = 256

#: Judges a URL against the policy: ``None`` when allowed, else the refusing rules and reason.
UrlJudge = Callable[[str], "tuple[tuple[str, ...], str] | None"]

# --- what names a secret --------------------------------------------------------------------

#: Services whose name before "key" or "token" makes it a credential ("OpenAI key").
_VENDORS = (r"anthropic|openai|stripe|github|gitlab|slack|google|gemini|mistral|groq|cohere|aws|"
            r"azure|gcp|hugging\s?face|sendgrid|twilio|cloudflare|vercel|netlify|heroku|datadog|"
            r"notion|linear|jira|atlassian|discord|telegram|npm|pypi|docker|bot|deploy")

#: Phrases that name a secret value, over lower-cased text with ``_``/``-``/camelCase split.
_SECRET_PHRASE = re.compile(
    r"\b(?:"
    r"pass\s?(?:words?|phrases?|codes?)|passwd|pwd|"
    r"(?:api|access|auth|authentication|bearer|refresh|session|personal\s+access|oauth|"
    r"app|application|client|integration|service|admin|csrf|id|jwt|security|" + _VENDORS
    + r")\s+tokens?|"
    r"tokens?\s+secret|"
    r"(?:api|private|ssh|access|secret|signing|encryption|master|gpg|pgp|license|"
    r"service\s+account|aws\s+secret(?:\s+access)?|" + _VENDORS + r")\s+keys?|apikeys?|"
    r"(?:client|app|application|webhook|shared|consumer|api|signing|totp|mfa|2fa)\s+secrets?|"
    r"secret\s+access\s+keys?|"
    r"(?:session|auth|authentication|login)\s+cookies?|"
    r"(?:one\s+time|one-time|verification|authenticator|authentication|security|sms|2fa|"
    r"two\s+factor|two-factor|mfa|totp|otp|login|backup|recovery|\d\s*-?\s*digit)\s+"
    r"(?:pass)?codes?|otps?|totps?|2fa|mfa\s+codes?|"
    r"(?:seed|recovery|mnemonic|wallet)\s+(?:phrases?|words?)|mnemonics?|"
    r"(?:credit|debit|payment)\s+cards?(?:\s+numbers?)?|card\s+numbers?|cvv2?|cvc2?|"
    r"card\s+verification|(?:bank\s+)?account\s+numbers?|routing\s+numbers?|"
    r"social\s+security\s+numbers?|ssn|"
    r"(?:your|the|login|account|user|admin|database|db|root|sudo)\s+(?:credentials|secrets?)|"
    r"credentials|"
    r"(?:your|the|card|security|\d\s*-?\s*digit)\s+pin(?:\s+(?:code|number))?"
    r")\b"
)
#: Credential files (toolscan's list): asking the user to paste one is asking for a secret.
_SECRET_FILE = re.compile(
    r"(?:~|\$home|/home/[^/\s]+|/root)?/?\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|"
    r"\.aws/credentials|\.env\b(?!\.(?:example|sample|template|dist))|\.netrc\b|"
    r"\.git-credentials|\.npmrc\b|\.pypirc\b|\bkubeconfig\b|\.kube/config"
)
#: The last word of a property *name* that makes the property a secret by itself.
_SECRET_HEADS = frozenset({
    "password", "passwd", "pwd", "passphrase", "passcode", "token", "secret", "apikey",
    "otp", "totp", "pin", "cvv", "cvc", "cvv2", "ssn", "mnemonic", "credentials",
})  # fmt: skip
#: A name's last two words that do.
_SECRET_PAIRS = re.compile(
    r"(?:api|private|ssh|access|secret|signing|encryption|master|gpg|pgp|license|"
    + _VENDORS + r")\s+(?:key|token)$|"
    r"(?:session|auth)\s+cookie$|(?:card|account|routing)\s+number$|(?:seed|recovery)\s+"
    r"phrase$|(?:verification|mfa|otp|2fa|auth|security|sms|totp)\s+code$"
)
#: Words just before a phrase that make it the object of something harmless ("name of the API key").
_ABOUT_BEFORE = re.compile(
    r"(?:\b(?:name|names|label|alias|title|id|identifier|description|expiry|expiration|scope|"
    r"scopes|type|length|rotation|fingerprint|prefix)\s+(?:of|for)\s+(?:(?:the|a|an|your|this|"
    r"that|new|existing|each)\s+){0,2}|\b(?:public|rotate|revoke|delete|remove|regenerate|"
    r"reset|forgot|forgotten|change|max|maximum|min|minimum|number\s+of|count\s+of)\s+"
    r"(?:(?:the|a|an|your|this|that|my)\s+)?)$"
)
#: Words just after a phrase that do the same ("API key name", "token budget", "password policy").
_ABOUT_AFTER = re.compile(
    r"^(?:'s)?\s+(?:display\s+)?(?:names?|ids?|labels?|alias|count|length|expir\w*|ttl|"
    r"scopes?|types?|polic(?:y|ies)|prefix|rotation|descriptions?|permissions?|fingerprints?|"
    r"manager|vault|reset|strength|hint|limit|limits|budget|usage|store|provider|file\s+name|profiles?|"
    r"path|settings?)\b"
)
#: Verbs of a message that asks the user for what follows.
_ASKING = re.compile(
    r"\b(?:enter|re-?enter|paste|provide|type|input|share|give|send|submit|supply|fill\s+in|"
    r"need|needs|require|requires|required|what\s+is|what's|tell\s+(?:me|us)|confirm\s+your|"
    r"verify\s+your|upload)\b"
)

#: Query parameters of a URL whose value authenticates the link (a pre-authenticated URL).
_SECRET_PARAM = re.compile(
    r"^(?:access[_-]?token|id[_-]?token|refresh[_-]?token|token|auth[_-]?token|api[_-]?key|"
    r"apikey|key|password|passwd|pwd|secret|client[_-]?secret|session(?:[_-]?id)?|sid|sig|"
    r"signature|x-amz-signature|x-amz-security-token|x-goog-signature|jwt|bearer|auth|"
    r"credentials?)$"
)
_URL_IN_TEXT = re.compile(r"\b(?:https?|ftp|javascript|data|file)://[^\s<>\"')\]]+|\bjavascript:"
                          r"[^\s<>\"')\]]+", re.IGNORECASE)  # fmt: skip
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def _words(text: str) -> str:
    """``apiKey``, ``api_key``, ``API-Key`` all read ``api key``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.sub(r"[\s_\-./:]+", " ", text).lower().strip()


def _fold(text: str) -> str:
    from warden.check.text import plain_reading

    return plain_reading(text)


def _secret_phrases(text: str, *, asking: bool = False) -> list[str]:
    """The secret-naming phrases of ``text`` that are not merely *about* a secret; with
    ``asking``, only those a verb of asking precedes in the same sentence."""
    low = _fold(text).lower().replace("_", " ").replace("-", " ")
    low = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", low)
    found: list[str] = []
    for m in _SECRET_PHRASE.finditer(low):
        before = low[max(0, m.start() - 60):m.start()]
        if _ABOUT_BEFORE.search(before) or _ABOUT_AFTER.match(low[m.end():m.end() + 40]):
            continue
        if asking:
            sentence = re.split(r"[.?!\n]", before)[-1]
            if not _ASKING.search(sentence):
                continue
        found.append(m[0])
    for m in _SECRET_FILE.finditer(low):
        sentence = re.split(r"[?!\n]|\.\s", low[max(0, m.start() - 80):m.start()])[-1]
        if not asking or _ASKING.search(sentence):
            found.append(m[0])
    return found


def _name_is_secret(name: str) -> bool:
    words = _words(name)
    last = words.rsplit(" ", 1)[-1] if words else ""
    if last in _SECRET_HEADS or _SECRET_PAIRS.search(words):
        return True
    # one-word compounds: ``githubtoken``, ``dbpassword``, ``clientsecret``
    return last.endswith(("password", "passwd", "apikey", "secret", "token"))


def _properties(params: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    schema = params.get("requestedSchema")
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return
    for i, (name, prop) in enumerate(props.items()):
        if i >= MAX_PROPERTIES:
            return
        yield str(name), prop if isinstance(prop, dict) else {}


def _prop_texts(prop: dict[str, Any]) -> list[str]:
    """The texts of one property the user (and a detector) reads: title, description,
    default, enum values and option titles."""
    out: list[str] = []
    for key in ("title", "description", "default"):
        if isinstance(prop.get(key), str):
            out.append(prop[key])
    for key in ("enum", "enumNames"):
        if isinstance(prop.get(key), list):
            out.extend(v for v in prop[key] if isinstance(v, str))
    items = prop.get("items")
    for options in (prop.get("oneOf"), prop.get("anyOf"),
                    items.get("anyOf") if isinstance(items, dict) else None,
                    items.get("enum") if isinstance(items, dict) else None):  # fmt: skip
        if isinstance(options, list):
            for o in options:
                if isinstance(o, str):
                    out.append(o)
                elif isinstance(o, dict):
                    out.extend(v for k in ("title", "const") if isinstance(v := o.get(k), str))
    return out


def sensitive_texts(params: dict[str, Any]) -> str:
    """Every text of an elicitation request a person or a model reads (message and schema)."""
    parts: list[str] = []
    if isinstance(params.get("message"), str):
        parts.append(params["message"])
    schema = params.get("requestedSchema")
    if isinstance(schema, dict):
        for key in ("title", "description"):
            if isinstance(schema.get(key), str):
                parts.append(schema[key])
    for name, prop in _properties(params):
        parts.append(name)
        parts.extend(_prop_texts(prop))
    return "\n".join(parts)[:MAX_TEXT]


class ElicitInspection(NamedTuple):
    """What was found in one elicitation request: the fields of its audit record, whether it
    is flagged, the reason, and the properties that ask for a secret (redacted in the answer)."""

    record: dict[str, Any]
    flagged: bool
    reason: str
    sensitive_fields: tuple[str, ...]


def _url_problems(url: str, judge: UrlJudge | None) -> tuple[list[str], list[str]]:
    """(signals, rules) of one URL the user would be sent to."""
    from warden.check.secrets import scan_secrets

    signals: list[str] = []
    rules: list[str] = []
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return ["url-malformed"], rules
    scheme = parts.scheme.lower()
    if scheme == "http" and (host in _LOOPBACK or host.startswith("127.")):
        pass  # the specification's development case: a loopback page
    elif scheme != "https":
        signals.append("url-not-https")
    if not host:
        signals.append("url-malformed")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        signals.append("url-userinfo")
    if not host.isascii() or any(label.startswith("xn--") for label in host.split(".")):
        signals.append("url-idn-host")
    if scan_secrets(url, "url").hits:
        signals.append("url-secret")
    else:
        params = parse_qsl(parts.query, keep_blank_values=False)
        params += parse_qsl(parts.fragment, keep_blank_values=False)
        if any(_SECRET_PARAM.match(k.lower()) and len(v) >= 8 for k, v in params):
            signals.append("url-credential-param")
    if judge is not None and scheme in ("http", "https") and host:
        verdict = judge(url)
        if verdict is not None:
            signals.append("url-policy")
            rules.extend(verdict[0])
    return signals, rules


def inspect_elicitation(params: Any, *, judge: UrlJudge | None = None) -> ElicitInspection:
    """Judge one ``elicitation/create`` request's params (either mode; a missing mode is form).

    ``judge`` asks the policy about a URL (:data:`UrlJudge`); ``None`` skips that check.
    """
    from warden.check.secrets import scan_secrets
    from warden.integrations.hooks.injection import scan_injection

    params = params if isinstance(params, dict) else {}
    mode = params.get("mode", "form")
    mode = mode if isinstance(mode, str) else "?"
    text = sensitive_texts(params)
    signals: list[str] = []
    rules: list[str] = []
    asked: list[str] = []
    fields: list[str] = []
    reasons: list[str] = []
    url = params.get("url") if isinstance(params.get("url"), str) else None
    if mode == "url":
        if url is None:
            signals.append("url-malformed")
        else:
            url_signals, rules = _url_problems(url[:8192], judge)
            signals += url_signals
    elif mode != "form":
        signals.append("unknown-mode")  # a client treats it as it likes: not inspected as such
    else:
        message = params.get("message") if isinstance(params.get("message"), str) else ""
        asked += _secret_phrases(message[:MAX_TEXT], asking=True)
        for name, prop in _properties(params):
            hits = _secret_phrases("\n".join(_prop_texts(prop)[:3]))
            marked = prop.get("writeOnly") is True or prop.get("format") == "password"
            if _name_is_secret(name) or hits or marked:
                fields.append(name[:200])
                asked += hits or ([_words(name)] if _name_is_secret(name) else ["writeOnly"])
        if asked or fields:
            signals.append("sensitive-request")
            reasons.append("it asks the user for secrets in a form (" + ", ".join(
                dict.fromkeys(asked)) + ")" + (f" in the fields {', '.join(fields)}"
                                               if fields else "") +
                "; the MCP specification forbids form mode for passwords, API keys, tokens "
                "and payment data")  # fmt: skip
        for found in _URL_IN_TEXT.findall(text):
            url_signals, url_rules = _url_problems(found, judge)
            serious = [s for s in url_signals if s != "url-not-https"]
            if serious:
                signals += [s for s in serious if s not in signals]
                rules += url_rules
    injection = scan_injection(text)
    if injection.flagged:
        signals.append("injection")
        reasons.append("its text carries instructions aimed at the model ("
                       + ", ".join(h.signal for h in injection.hits) + ")")  # fmt: skip
    url_signals = [s for s in signals if s.startswith("url-")]
    if url_signals:
        reasons.append("the URL it shows the user is unsafe (" + ", ".join(url_signals)
                       + (f"; policy rules {', '.join(rules)}" if rules else "") + ")")
    if "unknown-mode" in signals:
        reasons.append(f"its mode {mode[:40]!r} is not one the specification defines")
    secrets = list(dict.fromkeys(h.kind for h in scan_secrets(text, "elicitation").hits))
    host = None
    if url is not None:
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            host = None
    record: dict[str, Any] = {
        "mode": mode[:40],
        "message_chars": len(params.get("message") or "") if isinstance(
            params.get("message"), str) else 0,
        "fields": [name[:200] for name, _ in _properties(params)],
        "sensitive_fields": fields,
        "asks_for": list(dict.fromkeys(asked))[:20],
        "signals": list(dict.fromkeys(signals)),
        "injection": [h.signal for h in injection.hits],
        "secrets": secrets,
        "url_host": host[:253] if host else None,
        "rules": list(dict.fromkeys(rules)),
        "flagged": bool(signals),
    }  # fmt: skip
    return ElicitInspection(record, bool(signals), "; ".join(reasons), tuple(fields))


class AnswerInspection(NamedTuple):
    """The user's answer: fields of its record, its redacted content, and whether it carries
    (or answers a field that asked for) a secret."""

    record: dict[str, Any]
    redacted: dict[str, Any] | None
    secret: bool


def inspect_answer(result: Any, sensitive_fields: tuple[str, ...] = ()) -> AnswerInspection:
    """Judge one ``ElicitResult`` (``action``, ``content``) sent by the client to the server."""
    from warden.check.secrets import redact, redact_text, scan_secrets

    result = result if isinstance(result, dict) else {}
    action = result.get("action")
    content = result.get("content")
    kinds: list[str] = []
    answered: list[str] = []
    redacted: dict[str, Any] | None = None
    if isinstance(content, dict):
        redacted = {}
        for i, (key, value) in enumerate(content.items()):
            if i >= MAX_PROPERTIES:
                break
            name = str(key)[:200]
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value[:64])
            if not isinstance(value, str):
                redacted[name] = value if isinstance(value, bool | int | float) else None
                if name in sensitive_fields and value is not None:
                    answered.append(name)
                    redacted[name] = "[redacted]"
                continue
            hits = scan_secrets(value[:MAX_TEXT], "elicitation").hits
            kinds += [h.kind for h in hits]
            if name in sensitive_fields and value:
                answered.append(name)
                redacted[name] = redact(value)
            elif hits:
                redacted[name] = redact_text(value[:MAX_TEXT])
            else:
                redacted[name] = value[:4096]
    secret = bool(kinds or answered)
    record: dict[str, Any] = {
        "action": action if isinstance(action, str) else None,
        "fields": list(redacted) if redacted is not None else [],
        "secrets": list(dict.fromkeys(kinds)),
        "sensitive_fields_answered": answered,
        "typed_secret": secret,
    }
    if secret:
        record["note"] = ("the user's answer carries what looks like a secret; it was passed to "
                          "the server (the policy's [mcp] elicitation_secrets allows it)")
    return AnswerInspection(record, redacted, secret)
