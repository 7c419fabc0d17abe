"""Importers for recordings of established tools → workprint events.

Each returns an ``ImportResult``: the events it could read and an ``ImportIssue`` (file, line,
problem) for everything it could not; the valid part is always kept.
"""

from workprint.interop.agentnet import import_agentnet
from workprint.interop.ducktrack import import_ducktrack
from workprint.interop.idfx import IdfxResult, import_idfx
from workprint.interop.keystroke_csv import import_keystroke_csv
from workprint.interop.result import ImportIssue, ImportResult

__all__ = [
    "IdfxResult",
    "ImportIssue",
    "ImportResult",
    "import_agentnet",
    "import_ducktrack",
    "import_idfx",
    "import_keystroke_csv",
]
