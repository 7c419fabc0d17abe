"""Secrets: provider keys, private keys, JWTs, passwords by context, high-entropy tokens.

Provider formats follow the rules of detect-secrets and gitleaks (fixed prefixes, so no false
positive is plausible). Passwords have no shape, so they are found by what surrounds them:
``password: …``, ``PGPASSWORD=…``, ``mysql -p…``, ``--password …``, ``echo … | sudo -S``, and
the line typed after a command that prompts for one. High-entropy strings are the last net.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from workprint.privacy.entropy import looks_random
from workprint.privacy.lexicon import word_set
from workprint.privacy.spans import EntityType, Span

# (name, literals one of which every match contains, pattern). The literals let a text skip
# every pattern it cannot match with a substring test instead of a regex pass.
PROVIDER_KEYS: Final[tuple[tuple[str, tuple[str, ...], str], ...]] = (
    ("aws-access-key-id", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
     r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    ("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
     r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b"),
    ("github-fine-grained-pat", ("github_pat_",), r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b"),
    ("gitlab-token", ("glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "gloas-"),
     r"\bgl(?:pat|dt|ptt|rt|cbt|oas)-[A-Za-z0-9_-]{20,}"),
    ("slack-token", ("xox",), r"\bxox[abposre]-[A-Za-z0-9-]{10,}"),
    ("slack-webhook", ("hooks.slack.com",),
     r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}"),
    ("stripe-key", ("k_live_", "k_test_"), r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("stripe-webhook-secret", ("whsec_",), r"\bwhsec_[A-Za-z0-9]{24,}"),
    ("google-api-key", ("AIza",), r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])"),
    ("google-oauth-token", ("ya29.",), r"\bya29\.[0-9A-Za-z_-]{20,}"),
    ("google-client-secret", ("GOCSPX-",), r"\bGOCSPX-[A-Za-z0-9_-]{20,}"),
    ("anthropic-key", ("sk-ant-",), r"\bsk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_-]{20,}"),
    ("openai-key", ("sk-",), r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}"),
    ("huggingface-token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("npm-token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", ("pypi-AgE",), r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
    ("sendgrid-key", ("SG.",), r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"),
    ("twilio-key", ("SK",), r"\bSK[0-9a-f]{32}\b"),
    ("mailchimp-key", ("-us",), r"\b[0-9a-f]{32}-us\d{1,2}\b"),
    ("shopify-token", ("shpat_", "shpss_", "shpca_", "shppa_"),
     r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b"),
    ("digitalocean-token", ("_v1_",), r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("square-token", ("sq0atp-", "sq0csp-"), r"\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,}"),
    ("docker-pat", ("dckr_pat_",), r"\bdckr_pat_[A-Za-z0-9_-]{20,}"),
    ("telegram-bot-token", (":AA",), r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"),
    ("azure-storage-key", ("AccountKey=",), r"(?<=AccountKey=)[A-Za-z0-9+/]{80,}={0,2}"),
    ("jwt", ("eyJ",), r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    (
        "private-key-block",
        ("PRIVATE KEY",),
        r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)",
    ),
    ("authorization-header", ("earer ",), r"(?<=\b[Bb]earer )[A-Za-z0-9._~+/-]{16,}=*"),
    ("basic-auth-header", ("asic ",), r"(?<=\b[Bb]asic )[A-Za-z0-9+/]{12,}={0,2}(?![\w+/])"),
)  # fmt: skip
_PROVIDERS: Final = tuple(
    (frozenset(hints), re.compile(pattern)) for _, hints, pattern in PROVIDER_KEYS
)
# One pass finds which literals a text holds; only the patterns that need them then run.
_PROVIDER_HINTS: Final = re.compile(
    "|".join(
        re.escape(h)
        for h in sorted({h for _, hs, _ in PROVIDER_KEYS for h in hs}, key=len, reverse=True)
    )
)

# key = value / key: value / "key": "value" / KEY=value, where the key names a secret: the
# keyword is found first, then the identifier around it, then the operator and value after it.
_KEYWORD: Final = re.compile(
    r"pass|pwd|secret|token|key|credential|kennwort|contraseña|pin", re.IGNORECASE
)
_KEYWORD_HINTS: Final = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "kennwort",
    "contraseña",
    "pin",
)
_IDENTIFIER: Final = re.compile(r"[\w.-]*")
_OP_VALUE: Final = re.compile(
    r"""["']?[ \t]*(?P<op>:=|=>|=|:|[ \t]is[ \t]|[ \t]was[ \t])[ \t]*
        (?:(?P<q>["'`])(?P<quoted>[^"'`\n]{1,200})(?P=q)|(?P<bare>[^\s"'`,;)}\]]{1,200}))""",
    re.VERBOSE,
)
_KEY_PARTS: Final = word_set(
    """
    pass password passwd passphrase pwd secret token apikey key credential credentials
    passwort kennwort contraseña pin
    """
)
_NOT_A_VALUE: Final = re.compile(
    r"""^(?:[$%{<*\[(@]|\.\.\.|…|x{3,}$|null$|none$|nil$|true$|false$|undefined$|required$|
    optional$|str$|string$|int$|bool$|bytes$|secretstr$|any$|env\b|os\.|process\.env|
    getenv|getpass|input\(|self\.|this\.|config\.|settings\.|args\.|options\.|request\.|
    params\.|vault\b|redacted$|hidden$|masked$|<redacted>|\*+$|incorrect$|wrong$|invalid$|
    expired$|correct$|too$|not$|the$|a$|an$|same$|different$|empty$|missing$|set$|reset$|
    changed$|weak$|strong$|long$|short$|valid$|required\.|needed$|protected$|field$|
    manager$|policy$|length$|reset\b|form$|prompt$|please$|ok$|fine$|saved$|stored$|
    \d{1,3}$|yes$|no$|on$|off$|type$|value$|name$)""",
    re.IGNORECASE | re.VERBOSE,
)
_FLAG: Final = re.compile(
    r"(?:--(?:password|passwd|pass|token|api-key|apikey|secret|client-secret|auth-token|"
    r"access-token|db-password)[= ]|(?<=\s)-(?:passin|passout)[ \t]+pass:)"
    r"(?P<q>['\"]?)(?P<value>[^\s'\"]{2,200})(?P=q)"
)
_MYSQL_P: Final = re.compile(
    r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mariadb|mariadb-dump|mysqlcheck)\b"
    r"[^\n|;&]*?[ \t]-p(?P<q>['\"]?)(?P<value>[^\s'\"]{1,200})(?P=q)"
)
_DASH_P_SPACE: Final = re.compile(
    r"\b(?:sshpass|mongo|mongosh|mongodump|mongorestore|redis-cli|7z|zip|unzip|rar|"
    r"(?:docker|podman|nerdctl)[ \t]+login|helm[ \t]+registry[ \t]+login)\b[^\n|;&]*?"
    r"[ \t]-[pPak][ \t]*(?P<q>['\"]?)(?P<value>[^\s'\"-][^\s'\"]{1,200})(?P=q)"
)
_LICENCE_KEY: Final = re.compile(
    r"(?i:licen[cs]e|product|activation|registration|serial|recovery)[ \t]+key[ \t]*[:=][ \t]*"
    r"(?P<q>['\"]?)(?P<value>[A-Za-z0-9][A-Za-z0-9-]{7,63})(?P=q)"
)
# "the password for staging is …", "wifi password on the guest network: …"
_PROSE_PASSWORD: Final = re.compile(
    r"(?i:password|passcode|passphrase|passwort|kennwort|pin)[ \t]+(?:for|of|on|to|at)[ \t]+"
    r"[^\n:=]{1,40}?[ \t]+(?:is|was|:)[ \t]+(?P<q>['\"]?)(?P<value>[^\s'\"]{3,100}?)(?P=q)"
    r"(?=[\s,;)]|[.!?](?:\s|$)|$)"
)
_CURL_USER: Final = re.compile(
    r"\b(?:curl|wget|http)\b[^\n]*?[ \t](?:-u|--user)[ \t]+['\"]?[^:\s'\"]+:(?P<value>[^\s'\"@]+)"
)
_SMB_USER: Final = re.compile(
    r"\b(?:smbclient|mount\.cifs|rpcclient)\b[^\n]*?-U[ \t]+[^%\s]+%(?P<value>\S+)"
)
_ECHO_SUDO: Final = re.compile(
    r"\becho[ \t]+(?P<q>['\"]?)(?P<value>[^\s'\"|]+)(?P=q)[ \t]*\|[ \t]*sudo[ \t]+-S"
)
_SUDO_PROMPT: Final = re.compile(
    r"(?:\[sudo\] password for [^\n:]+|^Password|Enter passphrase[^\n:]*|Enter PEM pass phrase|"
    r"Passwort für [^\n:]+|Password for '[^'\n]+'):[ \t]*(?P<value>\S[^\n]{0,127})",
    re.MULTILINE,
)
# Commands that then ask for a password on the next line.
_PROMPTING: Final = re.compile(
    r"^[ \t]*(?:\$[ \t]+)?(?:sudo\b|su\b|ssh\b|scp\b|sftp\b|passwd\b|kinit\b|ssh-add\b|"
    r"ssh-keygen\b|gpg\b|ansible-vault\b|psql\b|mysql\b[^\n]*[ \t]-p[ \t]*$|docker login\b|"
    r"git (?:push|pull|clone|fetch)\b[^\n]*https://|openssl\b|vpn\b|openconnect\b|"
    r"mysql\b[^\n]*-p$|sudo -[sSiu]).*\n(?P<value>[^\s]{4,128})[ \t]*$",
    re.MULTILINE,
)
# (lower-case literals one of which the text must contain, pattern with a "value" group)
_CONTEXT_RULES: Final = (
    (frozenset({"--", "pass:"}), _FLAG),
    (frozenset({"mysql", "mariadb"}), _MYSQL_P),
    (
        frozenset(
            {"sshpass", "mongo", "redis-cli", "7z", "zip", "rar", "docker", "podman", "helm"}
        ),
        _DASH_P_SPACE,
    ),
    (frozenset({" -u", "--user"}), _CURL_USER),
    (frozenset({"smbclient", "mount.cifs", "rpcclient"}), _SMB_USER),
    (frozenset({"sudo"}), _ECHO_SUDO),
    (frozenset({"key"}), _LICENCE_KEY),
    (frozenset({"password", "pass", "pin", "passwort", "kennwort"}), _PROSE_PASSWORD),
    (frozenset({"password", "passphrase", "pass phrase", "passwort"}), _SUDO_PROMPT),
)
_CONTEXT_HINTS: Final = re.compile(
    "|".join(
        re.escape(h)
        for h in sorted(
            {h for needs, _ in _CONTEXT_RULES for h in needs} | set(_KEYWORD_HINTS),
            key=len,
            reverse=True,
        )
    )
)
_SHELL_WORDS: Final = word_set(
    """
    ls cd pwd exit clear history whoami yes no cat less top htop make git sudo apt vim nano
    python python3 pip pytest ssh logout reboot date uptime env help
    """
)
_ENTROPY_CANDIDATE: Final = re.compile(r"(?<![\w+/=.-])[A-Za-z0-9+/_=-]{20,}(?![\w+/=.-])")


def _key_is_secret(key: str) -> bool:
    parts = re.split(r"[_.\-]|(?<=[a-z])(?=[A-Z])", key)
    lowered = [p.lower() for p in parts if p]
    if not lowered:
        return False
    joined = "".join(lowered)
    if any(p in _KEY_PARTS for p in lowered if p != "key") or joined.endswith(
        ("apikey", "secretkey")
    ):
        return True
    return "key" in lowered and any(
        p in ("api", "access", "secret", "private", "signing", "master", "encryption", "auth")
        for p in lowered
    )


def _assignments(text: str, lowered: str) -> Iterator[Span]:
    if not any(hint in lowered for hint in _KEYWORD_HINTS):
        return
    done = 0
    for k in _KEYWORD.finditer(text):
        if k.start() < done:
            continue
        start = k.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
            start -= 1
        end = _IDENTIFIER.match(text, k.end()).end()  # type: ignore[union-attr]
        done = end
        key = text[start:end]
        m = _OP_VALUE.match(text, end)
        if m is None or not _key_is_secret(key):
            continue
        quoted = m.group("quoted") is not None
        group = "quoted" if quoted else "bare"
        value = m.group(group).rstrip(".")
        if _NOT_A_VALUE.match(value) or len(value) < 3:
            continue
        op = m.group("op").strip()
        if op in ("is", "was") and (
            len(value) < 4 or (key.lower() == "pin" and not value.isdigit())
        ):
            continue
        if not quoted and op == ":" and "(" in value:
            continue
        yield Span(m.start(group), m.start(group) + len(value), EntityType.SECRET)


def find_secrets(text: str) -> Iterator[Span]:
    """Every secret rule above, plus high-entropy tokens (see ``entropy.looks_random``). Each
    rule runs only when the words it needs are in the text."""
    present = set(_PROVIDER_HINTS.findall(text))
    if present:
        for hints, pattern in _PROVIDERS:
            if not hints.isdisjoint(present):
                for m in pattern.finditer(text):
                    yield Span(m.start(), m.end(), EntityType.SECRET)
    lowered = text.lower()
    words = set(_CONTEXT_HINTS.findall(lowered))
    if words:
        yield from _assignments(text, lowered)
        for needs, pattern in _CONTEXT_RULES:
            if not needs.isdisjoint(words):
                for m in pattern.finditer(text):
                    if pattern is _PROSE_PASSWORD and _NOT_A_VALUE.match(m.group("value")):
                        continue
                    yield Span(m.start("value"), m.end("value"), EntityType.SECRET)
    if "\n" in text:
        for m in _PROMPTING.finditer(text):
            value = m.group("value")
            if value.lower() not in _SHELL_WORDS and not value.startswith(
                ("-", "/", "~", "$", "#", ".")
            ):
                yield Span(m.start("value"), m.end("value"), EntityType.SECRET)
    for m in _ENTROPY_CANDIDATE.finditer(text):
        if looks_random(m.group(), text, m.start()):
            yield Span(m.start(), m.end(), EntityType.SECRET)
