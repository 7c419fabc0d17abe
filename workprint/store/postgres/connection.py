"""Reaching PostgreSQL: connection settings, the engine's ``?`` SQL in psycopg's form, and
psycopg's exceptions turned into the store's one-line errors.

The engine's SQL is written once with SQLite's ``?`` placeholders. psycopg wants ``%s`` (and a
literal ``%`` doubled), so each statement is translated once and cached. Parameters are bound on
the client (``ClientCursor``): the engine passes ``None`` to ``? IS NULL`` tests, whose type the
server could not infer if the value were sent separately.

A server that is restarting or unreachable is ``StoreUnavailableError`` (the caller may retry);
anything else psycopg raises is a ``StoreError``. Neither ever carries the password.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import psycopg
from psycopg import conninfo

from workprint.store.interface import StoreError, StoreUnavailableError

CONNECT_TIMEOUT_S: Final = 5
APPLICATION_NAME: Final = "workprint"
URL_SCHEMES: Final = ("postgresql://", "postgres://")

# SQLSTATEs meaning "the server is going away or not there yet": class 08 (connection
# exception), 57P01-57P03 (admin/crash shutdown, cannot connect now), 53300 (too many
# connections), 55P03 (lock not available: a writer held the lock past lock_timeout)
_UNAVAILABLE_STATES: Final = frozenset({"57P01", "57P02", "57P03", "53300", "55P03"})
# what libpq says (without a SQLSTATE) when it cannot reach the server or loses it
_UNAVAILABLE_WORDS: Final = (
    "connection refused",
    "could not connect",
    "timeout expired",
    "server closed the connection",
    "no such file or directory",
    "the database system is",
    "connection reset",
    "could not receive data",
    "could not send data",
    "consuming input failed",
    "sending query failed",
    "terminating connection",
    "connection is lost",
    "connection is closed",
    "network is unreachable",
    "no route to host",
    "name or service not known",
    "temporary failure in name resolution",
)


def check_url(url: str) -> dict[str, Any]:
    """The connection parameters of a ``postgresql://`` URL; ``StoreError`` if it is none."""
    if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
        raise StoreError("the database must be a postgresql://USER:PASSWORD@HOST:PORT/DB URL")
    try:
        return conninfo.conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise StoreError(f"invalid database URL: {_first_line(exc, url)}") from None


def without_password(url: str) -> str:
    """``postgresql://user@host:port/db`` for messages."""
    params = check_url(url)
    user = params.get("user")
    host = params.get("host", "localhost")
    port = params.get("port")
    where = f"{host}:{port}" if port else str(host)
    if "/" in where:  # a unix socket directory
        where = f"[{where}]"
    return f"postgresql://{f'{user}@' if user else ''}{where}/{params.get('dbname', '')}"


def connect(
    url: str, *, location: str, lock_timeout_ms: int | None = None
) -> psycopg.Connection[Any]:
    """An autocommit connection binding parameters on the client; one-line errors."""
    options = f"-c lock_timeout={lock_timeout_ms}" if lock_timeout_ms is not None else None
    extra: dict[str, Any] = {"options": options} if options else {}
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=APPLICATION_NAME,
            cursor_factory=psycopg.ClientCursor,
            **extra,
        )
    except psycopg.Error as exc:
        raise store_error(exc, location, url=url, connecting=True) from None


def store_error(
    exc: psycopg.Error,
    location: str,
    *,
    url: str = "",
    connecting: bool = False,
    broken: bool = False,
) -> StoreError:
    """The store's error for a psycopg one: ``StoreUnavailableError`` when the server cannot
    be reached or went away (``broken``: the connection died under the statement)."""
    message = _first_line(exc, url)
    state = getattr(exc, "sqlstate", None) or ""
    lowered = message.lower()
    auth_failure = state.startswith("28") or "authentication failed" in lowered
    unavailable = not auth_failure and (
        broken
        or state.startswith("08")
        or state in _UNAVAILABLE_STATES
        or any(words in lowered for words in _UNAVAILABLE_WORDS)
    )
    if connecting:
        text = f"cannot connect to {location}: {message}"
    elif unavailable:
        text = f"database {location} unavailable: {message}"
    else:
        text = f"database {location}: {message}"
    return StoreUnavailableError(text) if unavailable else StoreError(text)


def _first_line(exc: BaseException, url: str) -> str:
    """The useful line of a psycopg/libpq message, without prefixes or the password."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if " failed: " in first:  # 'connection failed: connection to server at ... failed: X'
        first = first.rsplit(" failed: ", 1)[1]
    for prefix in ("FATAL:", "ERROR:"):
        if first.startswith(prefix):
            first = first[len(prefix) :].strip()
    first = " ".join(first.split())
    password = _password(url)
    if password:
        first = first.replace(password, "***")
    return first


def _password(url: str) -> str:
    if not url:
        return ""
    try:
        return str(conninfo.conninfo_to_dict(url).get("password") or "")
    except psycopg.Error:
        return ""


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``?`` → ``%s`` outside quotes and comments, every ``%`` → ``%%`` (psycopg's escape)."""
    out: list[str] = []
    i = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            end = _quoted_end(sql, i, c)
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _quoted_end(sql: str, start: int, quote: str) -> int:
    """Index just past the literal or identifier opened at ``start`` (doubled quotes escape)."""
    i = start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)
