"""Detection and redaction of personal data and secrets in typed text, titles, URLs, queries.

The Arrow batch API (``redact_column``, ``scan_column``) lives in ``privacy.columns`` and is
loaded on first use, so that scanning single texts never imports Arrow."""

from typing import Any

from workprint.privacy.redact import Surrogates, placeholder, redact, scan_and_redact
from workprint.privacy.scanner import scan_text, scan_texts
from workprint.privacy.spans import EntityType, Span

_COLUMN_API = ("SPAN_TYPE", "redact_column", "scan_column")


def __getattr__(name: str) -> Any:
    if name in _COLUMN_API:
        from workprint.privacy import columns

        return getattr(columns, name)
    raise AttributeError(f"module 'workprint.privacy' has no attribute {name!r}")


__all__ = [
    "SPAN_TYPE",
    "EntityType",
    "Span",
    "Surrogates",
    "placeholder",
    "redact",
    "redact_column",
    "scan_and_redact",
    "scan_column",
    "scan_text",
    "scan_texts",
]
