"""How builder steps run over batches: an ``Executor`` maps a table → table function over a
stream of tables. The default runs in this process, lazily, one batch at a time (bounded
memory); a distributed engine (Ray Data) can implement the same protocol and run the same step
functions unchanged.

A batch must be a unit the step is correct on: for the actions reducer, whole sessions (no
action spans a session boundary), for the writing builder whole documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import pyarrow as pa

Step = Callable[[pa.Table], pa.Table]


class Executor(Protocol):
    def map_batches(self, fn: Step, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """``fn`` applied to every table, results in input order."""
        ...


class InProcessExecutor:
    """Runs each step here, as the results are consumed."""

    def map_batches(self, fn: Step, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        for table in tables:
            yield fn(table)


DEFAULT_EXECUTOR: Executor = InProcessExecutor()
