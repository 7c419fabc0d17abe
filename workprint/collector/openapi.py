"""The collector's OpenAPI document, as kept in docs/openapi.json.

``python -m workprint.collector.openapi [PATH]`` rewrites it (default: docs/openapi.json); a test
fails when the committed file differs from what the app serves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from workprint.collector.app import create_app
from workprint.store.interface import Store

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The document the app serves at /openapi.json (building it touches no store)."""
    document: dict[str, Any] = create_app(cast(Store, None)).openapi()
    return document


def render() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
