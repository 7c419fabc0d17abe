"""Field by field, what a release does to a built batch, and the scan that checks the result.

``ReleaseTransformer.apply`` walks every value of every row (strings nested in lists and
structs included) and applies the policy: app names generalised, URLs templated, titles and typed
text redacted/dropped/kept, every other string scanned and redacted, identifiers left alone.
Typed text in writing edits is one keystroke per edit, so it is scanned as the stream of
inserted characters (and of deleted ones, also read backwards: Backspace deletes a word from its
end) and each character of a finding is masked in place — the edit history still replays.
``residual_findings`` then scans every string of the transformed batch again: whatever it still
finds of a blocking type blocks the release.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

import pyarrow as pa

from workprint.privacy.generalise import generalise_app, generalise_url
from workprint.privacy.redact import SurrogateFn, redact
from workprint.privacy.scanner import scan_text
from workprint.privacy.spans import Span
from workprint.release.policy import ReleasePolicy

# Pseudonyms, enums and derived ids: never personal data, never rewritten.
ID_PATHS: Final = frozenset(
    {"person", "session", "doc", "episode", "work_session", "kind", "op", "button", "starts_after"}
    | {"bursts.kind", "mods", "keys"}
)
TEXT_PATHS: Final = frozenset({"text", "final_text", "bursts.text_after"})
MASK: Final = "▒"
_SURROGATE: Final = re.compile(r"<([A-Z_]+?)_[0-9a-f]{8}>")
Counts = dict[str, Counter[str]]


def _add(counts: Counts, path: str, spans: list[Span]) -> None:
    for span in spans:
        counts.setdefault(path, Counter())[span.type.value] += 1


def _mask_stream(pieces: list[str], spans: list[Span]) -> list[str]:
    """Each piece with the characters the spans cover (over the concatenation) masked."""
    covered: set[int] = set()
    for span in spans:
        covered.update(range(span.start, span.end))
    out: list[str] = []
    offset = 0
    for piece in pieces:
        chars = [MASK if offset + i in covered else c for i, c in enumerate(piece)]
        out.append("".join(chars))
        offset += len(piece)
    return out


class ReleaseTransformer:
    """One release's transforms; ``found`` counts what was found and redacted per field and
    type, ``generalised`` what was generalised or dropped per field."""

    def __init__(self, policy: ReleasePolicy, surrogate: SurrogateFn | None = None) -> None:
        self.policy = policy
        self.surrogate = surrogate
        self.found: Counts = {}
        self.generalised: Counter[str] = Counter()

    def _redact(self, path: str, text: str) -> str:
        spans = scan_text(text)
        _add(self.found, path, spans)
        return redact(text, spans, self.surrogate) if spans else text

    def _string(self, path: str, value: str, nullable: bool) -> str | None:
        policy = self.policy
        if path in ID_PATHS:
            return value
        if path == "app":
            out = generalise_app(value, policy.apps.allowlist, policy.apps.categories)
            if out != value:
                self.generalised["app"] += 1
            return out
        if path == "url":
            self._redact(path, value)  # counted as found; the template drops it anyway
            self.generalised["url"] += 1
            return generalise_url(
                value,
                search_params=policy.urls.search_params,
                max_depth=policy.urls.max_path_depth,
                surrogate=self.surrogate,
            )
        rule = (
            policy.fields.titles
            if path == "title"
            else policy.fields.text
            if path in TEXT_PATHS
            else "redact"
        )
        if rule == "keep":
            return value
        if rule == "drop":
            self.generalised[f"{path} (dropped)"] += 1
            return None if nullable else ""
        return self._redact(path, value)

    def _edits(self, edits: list[dict[str, Any]]) -> None:
        """Typed text of a writing record, one keystroke per edit, scanned as streams."""
        rule = self.policy.fields.text
        if rule == "keep" or not edits:
            return
        if rule == "drop":
            for edit in edits:
                edit["inserted"], edit["deleted"] = "", ""
            self.generalised["edits (dropped)"] += len(edits)
            return
        inserted = [str(e["inserted"] or "") for e in edits]
        spans = scan_text("".join(inserted))
        _add(self.found, "edits.inserted", spans)
        for edit, masked in zip(edits, _mask_stream(inserted, spans), strict=True):
            edit["inserted"] = masked
        deleted = [str(e["deleted"] or "") for e in edits]
        forward = scan_text("".join(deleted))
        backward_pieces = [piece[::-1] for piece in reversed(deleted)]
        backward = scan_text("".join(backward_pieces))
        _add(self.found, "edits.deleted", forward + backward)
        masked_forward = _mask_stream(deleted, forward)
        back = _mask_stream([p[::-1] for p in reversed(masked_forward)], backward)
        for edit, piece in zip(edits, reversed(back), strict=True):
            edit["deleted"] = piece[::-1]

    def _walk(self, path: str, value: Any, field_type: pa.DataType, nullable: bool) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return self._string(path, value, nullable)
        if pa.types.is_struct(field_type):
            for child in field_type:
                sub = f"{path}.{child.name}"
                if sub in ("edits.inserted", "edits.deleted"):
                    continue
                value[child.name] = self._walk(sub, value.get(child.name), child.type, True)
            return value
        if pa.types.is_list(field_type) or pa.types.is_large_list(field_type):
            item = field_type.value_field
            return [self._walk(path, v, item.type, item.nullable) for v in value]
        return value

    def apply(self, table: pa.Table) -> pa.Table:
        """The batch with every string field transformed; same schema, same rows."""
        rows = table.to_pylist()
        for row in rows:
            if row.get("edits"):
                self._edits(row["edits"])
            for field in table.schema:
                row[field.name] = self._walk(
                    field.name, row[field.name], field.type, field.nullable
                )
        return pa.Table.from_pylist(rows, schema=table.schema)


def _without_surrogates(text: str) -> str:
    """Surrogate tokens (``<EMAIL_1a2b3c4d>``) as bare placeholders: the hex tail of a token is
    what the redaction wrote, not something left over."""
    return _SURROGATE.sub(r"<\1>", text)


def residual_findings(table: pa.Table, scan: Callable[[str], list[Span]] = scan_text) -> Counts:
    """Every string anywhere in ``table`` scanned again: what is still found, per field and
    type. Writing edits are scanned as their inserted stream (how the text was typed)."""
    found: Counts = {}

    def visit(path: str, value: Any) -> None:
        if isinstance(value, str):
            if path not in ID_PATHS:
                _add(found, path, scan(_without_surrogates(value)))
        elif isinstance(value, dict):
            for key, child in value.items():
                visit(f"{path}.{key}", child)
        elif isinstance(value, list):
            for child in value:
                visit(path, child)

    for row in table.to_pylist():
        for name, value in row.items():
            visit(name, value)
        edits = row.get("edits")
        if edits:
            _add(found, "edits.inserted", scan("".join(str(e["inserted"] or "") for e in edits)))
    return found
