"""The builders on Ray Data (workprint.builders.ray_executor) against the in-process executor,
on a real embedded store with several people and sessions and a real local Ray cluster of 2
workers (started once for the module): every dataset kind must come out identical, row for
row, and so must the CLI's ``--executor ray`` build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bench.actions_throughput import session_table
from tests.backend_support import backend_environ
from tests.store_support import DAY_NS, T0, enrol, master_path, open_store
from tests.test_admin_cli import one_line_error
from workprint.builders.executor import InProcessExecutor
from workprint.builders.pipeline import (
    Coverage,
    Pseudonyms,
    build_batches,
    chosen_people,
    iter_sessions,
    session_stream,
    settings,
)
from workprint.builders.ray_executor import (
    RayCluster,
    RayExecutor,
    RayExecutorError,
    encode_table,
    read_shard,
    results_in_order,
)
from workprint.events import SCOPES

# sessions per person: (events, seed); the last person also has a session with no input
PEOPLE: Final = (
    ("Ada Quillfeather", ((2500, 1), (4000, 2), (1500, 3))),
    ("Bo Zanzibarsky", ((3000, 4), (2000, 5))),
    ("Cy Wobblethorpe", ((3500, 6), (2500, 7), (1000, 8), (2, 9))),
)
KINDS: Final = ("actions", "episodes", "writing")
KEYS: Final = {"actions": ("session", "seq_first"), "episodes": ("episode",), "writing": ("doc",)}
# the order in which the CLI test names pseudonyms (independent of the per-build salt)
TIME_ORDER: Final = {
    "actions": ("t_start", "seq_first"),
    "episodes": ("t_start", "seq_first"),
    "writing": ("t_start", "window"),
}
PSEUDONYM: Final = re.compile(r"(anon|session)-[0-9a-f]{16}")


def session_events(person: int, number: int, events: int, seed: int) -> pa.Table:
    """A realistic session (the benchmark's mix: pointer approaches, clicks, drags, scrolls,
    typing with corrections, hotkeys, window switches) with its own id, time and seqs."""
    table = session_table(number, events, seed)
    if events < 3:  # start + stop only: nothing to build from
        table = table.filter(pc.is_in(table["type"], pa.array(["session_start", "session_stop"])))
    n = table.num_rows
    session = pa.array([f"{person:02d}{number:02d}" + "5f0c2a9e1b7d4e3f8a6b2c9d1e3f"] * n)
    start = T0 + person * DAY_NS + number * 3 * 3600 * 10**9
    columns = {
        "session": session.dictionary_encode().cast(table.schema.field("session").type),
        "t": pc.add(pc.subtract(table["t"], table["t"][0]), start),
        "seq": pc.add(table["seq"], number * 1_000_000),  # seqs are unique per device
    }
    for name, column in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 3 people, 9 sessions (one without input), each uploaded in two batches."""
    tmp = tmp_path_factory.mktemp("ray-store")
    with open_store(tmp) as store:
        for person, (name, sessions) in enumerate(PEOPLE):
            subject = enrol(store, name, scopes=SCOPES)
            for number, (events, seed) in enumerate(sessions):
                table = session_events(person, number, events, seed)
                half = table.num_rows // 2
                for i, part in enumerate((table.slice(0, half), table.slice(half))):
                    result = store.ingest(subject.principal, f"s{number}-{i}", part)
                    assert result.accepted == part.num_rows, result
    return tmp


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    with RayCluster(workers=2) as running:
        yield running


def build(store_dir: Path, kind: str, names: Pseudonyms, executor: object) -> list[pa.Table]:
    step, _ = settings(kind, [])
    with open_store(store_dir) as store:
        people = chosen_people(store, None)
        sessions = session_stream(store, people, "test", names, Coverage())
        return list(build_batches(sessions, step, executor))  # type: ignore[arg-type]


def by_key(batches: list[pa.Table], kind: str) -> pa.Table:
    table = pa.concat_tables(batches)
    return table.sort_by([(name, "ascending") for name in KEYS[kind]])


def test_the_executor_needs_a_running_cluster() -> None:
    """Runs first in this module, before the cluster fixture starts one."""
    with pytest.raises(RayExecutorError, match="no Ray cluster"):
        RayExecutor()


@pytest.mark.parametrize("kind", KINDS)
def test_ray_build_equals_the_in_process_build(
    cluster: RayCluster, store_dir: Path, kind: str
) -> None:
    names = Pseudonyms()  # one salt for both builds, so that the ids agree too
    here = build(store_dir, kind, names, InProcessExecutor())
    # small windows and blocks: several Ray Data runs per build and several sessions per
    # block, as a large store would have
    executor = RayExecutor(window_bytes=4 * 2**20, block_bytes=2 * 2**20)
    on_ray = build(store_dir, kind, names, executor)
    assert len(here) == len(on_ray) == sum(len(sessions) for _, sessions in PEOPLE)
    expected, got = by_key(here, kind), by_key(on_ray, kind)
    assert expected.num_rows > 0 and len(set(expected["person"].to_pylist())) == len(PEOPLE)
    assert got.schema == expected.schema
    assert got.equals(expected)
    for mine, theirs in zip(here, on_ray, strict=True):  # the same batches, in the same order
        assert theirs.equals(mine)


def session_tables(store_dir: Path) -> list[pa.Table]:
    with open_store(store_dir) as store:
        tables: list[pa.Table] = []
        for person in chosen_people(store, None):
            tables += iter_sessions(store.read_events(person.id, actor="test"))
        return tables


def test_empty_tables_and_one_session_windows_keep_order(
    cluster: RayCluster, store_dir: Path
) -> None:
    step, _ = settings("writing", [])
    tables = session_tables(store_dir)
    tables.insert(3, tables[0].slice(0, 0))  # Ray Data drops empty blocks: still one result
    expected = list(InProcessExecutor().map_batches(step, tables))
    got = list(RayExecutor(window_bytes=1).map_batches(step, iter(tables)))
    assert len(got) == len(tables) and got[3].num_rows == 0
    assert [t.num_rows for t in got] == [t.num_rows for t in expected]
    assert all(g.equals(e) for g, e in zip(got, expected, strict=True))
    assert list(RayExecutor().map_batches(step, [])) == []


def test_parquet_shards_read_by_the_workers_equal_in_process(
    cluster: RayCluster, store_dir: Path, tmp_path: Path
) -> None:
    """The object-store path: workers read session shards themselves."""
    step, _ = settings("actions", [])
    paths = []
    for i, table in enumerate(session_tables(store_dir)):
        paths.append(str(tmp_path / f"shard-{i:03d}.parquet"))
        pq.write_table(table, paths[-1])
    expected = [step(read_shard(path)) for path in paths]
    got = list(RayExecutor(files_per_task=4).map_files(step, paths))
    assert sum(t.num_rows for t in expected) > 0
    assert len(got) == len(paths)
    assert all(g.equals(e) for g, e in zip(got, expected, strict=True))


def test_a_failing_step_reports_its_error(cluster: RayCluster, store_dir: Path) -> None:
    def broken(table: pa.Table) -> pa.Table:
        raise ValueError(f"cannot build {table.num_rows} events")

    with pytest.raises(Exception, match=r"cannot build \d+ events"):
        list(RayExecutor().map_batches(broken, session_tables(store_dir)[:2]))


def test_a_split_or_missing_result_stops_the_build(cluster: RayCluster) -> None:
    """What the driver does if Ray ever handed one session to two batches, or lost one."""
    import ray.data

    one = {"part": 0, "result": encode_table(pa.table({"rows": [1]}))}
    twice = ray.data.from_items([one, one])
    with pytest.raises(RayExecutorError, match="shard 0 was split across batches"):
        list(results_in_order(twice, [0]))
    with pytest.raises(RayExecutorError, match="Ray returned 1 of 2 shard results"):
        list(results_in_order(ray.data.from_items([one]), [0, 1]))


def test_a_second_cluster_in_one_process_is_refused(cluster: RayCluster) -> None:
    with pytest.raises(RayExecutorError, match="already running"), RayCluster(workers=1):
        pass
    with pytest.raises(RayExecutorError, match="at least 1"):
        RayCluster(workers=0)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A TMPDIR short enough for Ray's socket paths, to see what a build leaves in it."""
    path = Path(tempfile.mkdtemp(prefix="wpt-", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def cli(
    store_dir: Path, tmp_path: Path, *args: str, scratch: Path | None = None
) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "workprint", "build", *args, "--no-progress"]
    command += ["--store", str(store_dir / "data"), "--master-key", str(master_path(store_dir))]
    env = dict(os.environ, HOME=str(home), TMPDIR=str(scratch or tmp_path), CI="true")
    env.update(backend_environ(store_dir / "data"))
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)


def canonical(table: pa.Table, kind: str) -> pa.Table:
    """Pseudonyms renamed ``id0, id1, …`` in order of first use, rows sorted by the key: two
    builds of the same data under different salts then compare exactly."""
    table = table.sort_by([(name, "ascending") for name in TIME_ORDER[kind]])
    labels: dict[str, str] = {}

    def rename(value: str) -> str:
        return PSEUDONYM.sub(lambda m: labels.setdefault(m[0], f"id{len(labels)}"), value)

    for index, field in enumerate(table.schema):
        if field.name in ("person", "session", "episode", "work_session", "doc"):
            values = [rename(v) for v in table.column(index).to_pylist()]
            table = table.set_column(index, field, pa.array(values, field.type))
    return table.sort_by([(name, "ascending") for name in KEYS[kind]])


@pytest.mark.parametrize("kind", ["actions"])
def test_cli_build_with_the_ray_executor(
    store_dir: Path, tmp_path: Path, scratch: Path, kind: str
) -> None:
    """A real ``workprint build --executor ray`` (its own cluster, in a subprocess): the same
    dataset as the default build, and nothing left behind in TMPDIR or HOME."""
    built = {}
    for name, extra in (("here", ()), ("ray", ("--executor", "ray", "--workers", "2"))):
        out = tmp_path / name
        args = (kind, "--out", str(out), "--format", "parquet", *extra)
        result = cli(store_dir, tmp_path, *args, scratch=scratch)
        assert result.returncode == 0, result.stderr
        assert re.match(rf"built \d+ {kind} rows from 3 people, 9 sessions", result.stdout)
        built[name] = pa.concat_tables(pq.read_table(p) for p in sorted(out.rglob("*.parquet")))
    assert built["ray"].num_rows == built["here"].num_rows > 0
    assert canonical(built["ray"], kind).equals(canonical(built["here"], kind))
    assert list(scratch.iterdir()) == []  # the cluster's temp dir is gone
    assert not (tmp_path / "home" / ".ray").exists()  # no auth token written to HOME


def test_cli_rejects_bad_executor_options(store_dir: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    one_line_error(cli(store_dir, tmp_path, "actions", "--out", out, "--executor", "spark"),
                   r"unknown executor 'spark' \(one of: inprocess, ray\)")  # fmt: skip
    one_line_error(cli(store_dir, tmp_path, "actions", "--out", out, "--workers", "2"),
                   r"--workers takes a number ≥ 1, with --executor ray")  # fmt: skip
    one_line_error(
        cli(store_dir, tmp_path, "actions", "--out", out, "--executor", "ray", "--workers", "0"),
        r"--workers takes a number ≥ 1",
    )
    assert not (tmp_path / "out").exists()
