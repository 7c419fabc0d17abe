"""The writing builder as an executor step (workprint/builders/executor.py).

A batch must hold whole sessions: a document is a session's window, its focus comes from the
session's WindowFocus events and the clipboard is shared by the session's windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

import pyarrow as pa

from workprint.builders.executor import DEFAULT_EXECUTOR, Executor, Step
from workprint.builders.writing.config import WritingConfig
from workprint.builders.writing.fast import build_writing


def writing_step(config: WritingConfig | None = None) -> Step:
    """events table → writing records table, with ``config`` bound."""
    return partial(build_writing, config=config)


def build_writing_batches(
    tables: Iterable[pa.Table],
    config: WritingConfig | None = None,
    executor: Executor = DEFAULT_EXECUTOR,
) -> Iterator[pa.Table]:
    """Writing records for a stream of session-complete event tables, one table per batch."""
    return executor.map_batches(writing_step(config), tables)
