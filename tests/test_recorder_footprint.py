"""The recorder's memory budget (< 60 MB RSS) depends on what it imports: the CLI and the agent
must not pull the heavy libraries of the server side (Arrow, NumPy, FastAPI, an HTTP client)
into a process that only records. Measured figures are in docs/performance.md."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pyarrow", "numpy", "fastapi", "uvicorn", "httpx", "pydantic", "starlette")


def test_recording_imports_no_server_side_library() -> None:
    code = (
        "import sys, workprint.cli, workprint.agent.recorder, workprint.cli.record\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported by the recorder: {result.stdout.strip()}"
