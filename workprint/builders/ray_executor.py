"""The builder steps on Ray Data: the same ``table → table`` step functions the in-process
executor runs, spread over a Ray cluster's workers, with results identical to the in-process
run (principle 8: distributed when outgrown, with an existing engine and the same code).

Input is a set of *session shards*: Arrow tables or Parquet files that each hold whole sessions
(a step is only correct on whole sessions, see ``executor.py``). Two sources:

- ``RayExecutor.map_batches(fn, tables)`` — the ``Executor`` protocol: the build pipeline reads
  and decrypts each session on the driver and hands Ray the table itself (``ray.put`` →
  ``from_arrow_refs``), whole sessions packed into ~32 MiB blocks, in bounded windows.
  Decrypted events then only live in memory (the object store is shared memory; the cluster's
  spill directory is inside a private 0700 temp dir that ``RayCluster`` deletes): nothing
  decrypted is left on disk, which staging shards as Parquet files could not promise after a
  crash.
- ``RayExecutor.map_files(fn, paths)`` — Parquet files (a path or a URI pyarrow resolves, such
  as ``s3://…``), read by the workers themselves: the way an object-store event table plugs in
  without the driver touching the data.

Each session's output travels back as one Arrow IPC stream in one row ``(part, result)``, so
Ray never merges, splits or re-types a builder's output, an empty output is not dropped, and
a session split across two batches (which would break the step) is detected, not written.
Results come back in input order, one table per input table, like ``InProcessExecutor``.

``RayCluster`` starts a local cluster (``workers`` CPUs, no dashboard, no usage statistics, a
random auth token kept in the environment rather than in ``~/.ray/auth_token``); an existing
cluster can be used by calling ``ray.init`` before creating the executor instead.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workprint.builders.executor import Step
from workprint.errors import WorkprintError

if TYPE_CHECKING:
    import ray.data

# Read by Ray when it is imported and when it starts a cluster: no usage reports leave the
# machine, and the cluster demands a token that lives only in this process's environment (one
# per process: Ray caches it) rather than in a world-readable ~/.ray/auth_token.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))

PART: Final = "__workprint_part"
"""The column tagging each input row with its shard's position in the input."""
SOCKET_BASE_MAX: Final = 24
"""The longest temp dir Ray's ``…/session_<time>_<pid>/sockets/plasma_store`` paths allow."""
DEFAULT_WINDOW_BYTES: Final = 512 * 2**20
"""Input handed to Ray at a time: bounds the driver's and the object store's memory."""
DEFAULT_BLOCK_BYTES: Final = 32 * 2**20
"""Sessions packed into one Ray Data block (one task): a task costs ~25 ms of CPU in Ray's
machinery, so one block per small session would cost more than its build."""
DEFAULT_FILES_PER_TASK: Final = 8


class RayExecutorError(WorkprintError):
    """Ray cannot run the build as asked (not installed, or a result went missing)."""


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayExecutorError(
            "the ray executor needs Ray Data: pip install 'workprint[scale]'"
        ) from None
    for name in ("ray", "ray.data"):  # the CLI shows its own progress; Ray's INFO is noise
        logging.getLogger(name).setLevel(logging.ERROR)
    return ray


def encode_table(table: pa.Table) -> bytes:
    """A step's output as one Arrow IPC stream: schema, dictionaries and nulls exactly kept."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode_table(payload: bytes) -> pa.Table:
    """``encode_table`` undone on the driver."""
    with pa.ipc.open_stream(pa.py_buffer(payload)) as reader:
        return reader.read_all()


def _results(parts: list[int], outputs: list[pa.Table]) -> pa.Table:
    return pa.table(
        {
            "part": pa.array(parts, pa.int64()),
            "result": pa.array([encode_table(t) for t in outputs], pa.large_binary()),
        }
    )


def run_tagged(fn: Step, batch: pa.Table) -> pa.Table:
    """On a worker: ``fn`` on each shard in ``batch`` (contiguous runs of ``PART``)."""
    tags = batch.column(PART).to_numpy()
    starts = (
        [int(s) for s in np.flatnonzero(np.r_[True, tags[1:] != tags[:-1]])] if len(tags) else []
    )
    ends = [*starts[1:], len(tags)]
    events = batch.drop_columns([PART])
    parts = [int(tags[s]) for s in starts]
    outputs = [fn(events.slice(s, e - s)) for s, e in zip(starts, ends, strict=True)]
    return _results(parts, outputs)


def read_shard(path: str) -> pa.Table:
    """A session shard file as the builder step gets it (both executors read it this way)."""
    return pq.read_table(path)


def run_files(fn: Step, batch: pa.Table) -> pa.Table:
    """On a worker: read each listed Parquet shard and run ``fn`` on it."""
    parts = batch.column("part").to_pylist()
    outputs = [fn(read_shard(path)) for path in batch.column("path").to_pylist()]
    return _results(parts, outputs)


def results_in_order(dataset: ray.data.Dataset, parts: list[int]) -> Iterator[pa.Table]:
    """The output of each of ``parts`` (increasing), in that order, each as soon as it and
    every part before it have finished."""
    waiting: dict[int, bytes] = {}
    seen: set[int] = set()
    following = iter(parts)
    wanted = next(following, None)
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        block = cast("pa.Table", batch)
        for part, payload in zip(
            block.column("part").to_pylist(), block.column("result").to_pylist(), strict=True
        ):
            if part in seen:
                raise RayExecutorError(f"shard {part} was split across batches (a session cut)")
            seen.add(part)
            waiting[part] = payload
        while wanted is not None and wanted in waiting:
            yield decode_table(waiting.pop(wanted))
            wanted = next(following, None)
    if wanted is not None or waiting:
        raise RayExecutorError(f"Ray returned {len(seen)} of {len(parts)} shard results")


class RayExecutor:
    """Builder steps as Ray Data ``map_batches`` over session shards (see the module doc)."""

    def __init__(
        self,
        window_bytes: int = DEFAULT_WINDOW_BYTES,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        files_per_task: int = DEFAULT_FILES_PER_TASK,
    ) -> None:
        self._ray = _import_ray()
        if not self._ray.is_initialized():
            raise RayExecutorError("no Ray cluster: start one with RayCluster or ray.init()")
        context = self._ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        self.window_bytes = window_bytes
        self.block_bytes = block_bytes
        self.files_per_task = max(1, files_per_task)

    def map_batches(self, fn: Step, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """``fn`` on every table (each whole sessions), results in input order."""
        window: list[pa.Table] = []
        size = 0
        offset = 0
        for table in tables:
            window.append(table)
            size += table.nbytes
            if size >= self.window_bytes:
                yield from self._run_window(fn, window, offset)
                offset += len(window)
                window, size = [], 0
        if window:
            yield from self._run_window(fn, window, offset)

    def _run_window(self, fn: Step, tables: list[pa.Table], offset: int) -> Iterator[pa.Table]:
        refs: list[Any] = []
        parts: list[int] = []
        block: list[pa.Table] = []
        for index, table in enumerate(tables, offset):
            if not table.num_rows:  # Ray Data skips empty blocks: those run here
                continue
            tag = pa.array(np.full(table.num_rows, index, np.int64))
            tagged = table.append_column(PART, tag)
            if block and (
                sum(t.nbytes for t in block) + tagged.nbytes > self.block_bytes
                or tagged.schema != block[0].schema
            ):
                refs.append(self._put(block))
                block = []
            block.append(tagged)
            parts.append(index)
        if block:
            refs.append(self._put(block))
        outputs: Iterator[pa.Table] = iter(())
        if refs:
            dataset = self._ray.data.from_arrow_refs(refs).map_batches(
                partial(run_tagged, fn), batch_size=None, batch_format="pyarrow"
            )
            outputs = results_in_order(dataset, parts)
        for table in tables:
            yield next(outputs) if table.num_rows else fn(table)
        next(outputs, None)  # ends the results: a missing or extra one raises here

    def _put(self, tables: list[pa.Table]) -> Any:
        """One block of whole sessions. Concatenated, not combined: each session stays its own
        chunk, so the slice a worker cuts out of the block is that session's table, unchanged."""
        return self._ray.put(pa.concat_tables(tables))

    def map_files(self, fn: Step, paths: Iterable[str]) -> Iterator[pa.Table]:
        """``fn`` on every Parquet shard (each whole sessions), read by the workers
        ``files_per_task`` at a time, results in input order."""
        ray = self._ray
        listed = [str(path) for path in paths]
        if not listed:
            return
        items = [{"part": i, "path": path} for i, path in enumerate(listed)]
        tasks = -(-len(items) // self.files_per_task)
        dataset = ray.data.from_items(items, override_num_blocks=tasks).map_batches(
            partial(run_files, fn), batch_size=None, batch_format="pyarrow"
        )
        yield from results_in_order(dataset, list(range(len(listed))))


class RayCluster:
    """A private local Ray cluster for one build: ``with RayCluster(2): …``.

    Its temp dir (sockets, logs, spilled objects) is a fresh 0700 directory in ``$TMPDIR`` (or
    ``/tmp`` when that path is too long for Ray's sockets), deleted with everything in it when
    the cluster stops, so no build data outlives the build."""

    def __init__(self, workers: int, object_store_bytes: int | None = None) -> None:
        if workers < 1:
            raise RayExecutorError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.object_store_bytes = object_store_bytes
        self._dir: Path | None = None

    def __enter__(self) -> RayCluster:
        ray = _import_ray()
        if ray.is_initialized():
            raise RayExecutorError("a Ray cluster is already running in this process")
        base = tempfile.gettempdir()
        if len(base) > SOCKET_BASE_MAX:  # Ray's socket paths must fit in 107 bytes
            base = "/tmp"
        self._dir = Path(tempfile.mkdtemp(prefix="wp-ray-", dir=base))  # mode 0700
        spill = {"type": "filesystem", "params": {"directory_path": str(self._dir / "spill")}}
        try:
            ray.init(
                num_cpus=self.workers,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                object_store_memory=self.object_store_bytes,
                _temp_dir=str(self._dir),
                _system_config={"object_spilling_config": json.dumps(spill)},
            )
        except BaseException:
            self._clean()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            _import_ray().shutdown()
        finally:
            self._clean()

    def _clean(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
