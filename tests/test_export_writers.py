"""Streaming writers: every format round-trips, the HF directory is laid out as ``datasets``
expects, the card says what it must, progress is shown, and memory stays bounded."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from workprint.builders.actions import Thresholds, reduce_actions
from workprint.export.action_formats import with_action_format
from workprint.export.card import DatasetCard
from workprint.export.writers import WriteError, read_card_header, write_dataset
from workprint.interop import import_agentnet

SAMPLE = Path(__file__).parent / "data" / "agentnet-sample"
CARD = DatasetCard(
    name="AgentNet sample actions",
    description="One OpenCUA demonstration reduced to actions.",
    source="OpenCUA AgentNet sample (MIT)",
    people=1,
    scopes=("input-timing", "mouse"),
    consent="imported: the source dataset's own collection consent",
    thresholds=Thresholds().as_dict(),
    privacy_transforms=("window titles dropped",),
    action_format="pyautogui",
    license="mit",
)


def sample_batches() -> list[pa.Table]:
    actions = with_action_format(reduce_actions(import_agentnet(SAMPLE).table()), "pyautogui")
    return [actions.slice(0, 10), actions.slice(10, 10), actions.slice(20)]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "hf"])
def test_every_format_round_trips_with_its_card(tmp_path: Path, fmt: str) -> None:
    batches = sample_batches()
    expected = pa.concat_tables(batches)
    result = write_dataset(iter(batches), tmp_path / fmt, fmt, CARD, progress=False, shard_rows=12)  # type: ignore[arg-type]
    assert result.rows == expected.num_rows == 27
    if fmt == "jsonl":
        rows = [json.loads(line) for line in result.files[0].read_text().splitlines()]
        assert rows == json.loads(json.dumps(expected.to_pylist()))
    else:
        back = pa.concat_tables(pq.read_table(f) for f in result.files)
        assert back.equals(expected)
    header = read_card_header(result.card)
    meta = header["workprint"]
    assert (meta["rows"], meta["people"], meta["sessions"]) == (27, 1, 1)
    assert meta["consent_scopes"] == ["input-timing", "mouse"]
    assert meta["builder"] == "workprint.actions" and meta["builder_version"] == "1.0.0"
    assert meta["thresholds"]["drag_px"] == 8.0
    assert meta["privacy_transforms"] == ["window titles dropped"]
    assert 0.03 < meta["hours"] < 0.04  # the sample's actions span about two minutes
    assert meta["kinds"]["click"] == 19
    assert header["license"] == "mit" and header["size_categories"] == ["n<1K"]
    text = result.card.read_text()
    assert "from 1 people, 1 sessions" in text and "## Privacy transforms applied" in text


def test_hf_directory_layout_matches_what_datasets_loads(tmp_path: Path) -> None:
    result = write_dataset(
        iter(sample_batches()), tmp_path, "hf", CARD, progress=False, shard_rows=10
    )
    names = sorted(p.relative_to(tmp_path).as_posix() for p in result.files)
    assert names == [
        "data/train-00000.parquet",
        "data/train-00001.parquet",
        "data/train-00002.parquet",
    ]
    header = read_card_header(tmp_path / "README.md")
    (config,) = header["configs"]
    assert config["config_name"] == "default"
    (split,) = config["data_files"]
    assert split["split"] == "train"
    matched = sorted(
        p.relative_to(tmp_path).as_posix() for g in split["path"] for p in tmp_path.glob(g)
    )
    assert matched == names
    schemas = {pq.read_schema(p) for p in result.files}
    assert len(schemas) == 1
    yaml = pytest.importorskip("yaml")  # the Hub reads the header with a YAML parser
    front = (tmp_path / "README.md").read_text().split("---\n")[1]
    assert yaml.safe_load(front) == header
    # a second export into the same directory replaces the shards, it does not add to them
    write_dataset(iter(sample_batches()[:1]), tmp_path, "hf", CARD, progress=False)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["train-00000.parquet"]


def test_a_card_without_transforms_says_none(tmp_path: Path) -> None:
    card = DatasetCard(name="raw", description="d")
    result = write_dataset(iter(sample_batches()), tmp_path, "parquet", card, progress=False)
    meta = read_card_header(result.card)["workprint"]
    assert meta["privacy_transforms"] == ["none"] and meta["people"] is None
    assert "from an unknown number of people" in result.card.read_text()


def test_progress_bar_counts_rows(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False)
    write_dataset(iter(sample_batches()), tmp_path, "jsonl", CARD, total_rows=27, console=console)
    assert "27/27" in out.getvalue() and "export" in out.getvalue()


def test_bad_requests_fail_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="unknown file format"):
        write_dataset(iter([]), tmp_path, "csv", CARD, progress=False)  # type: ignore[arg-type]
    other = pa.table({"session": ["s"], "kind": [1]})
    with pytest.raises(WriteError, match="does not match the first batch"):
        write_dataset(
            iter([sample_batches()[0], other]),
            tmp_path / "p",
            "parquet",
            CARD,
            progress=False,
            group_rows=1,
        )


def big_stream(batches: int, rows: int, allocated: list[int]) -> Iterator[pa.Table]:
    """Batches made on demand; records Arrow's allocation each time the writer asks for more."""
    for i in range(batches):
        allocated.append(pa.total_allocated_bytes())
        start = i * rows
        yield pa.table(
            {
                "session": pa.array([f"s{start // 100_000}"] * rows),
                "kind": pa.array(["click"] * rows),
                "t_start": pa.array(range(start, start + rows), pa.int64()),
                "t_end": pa.array(range(start + 1, start + rows + 1), pa.int64()),
                "action": pa.array([f"pyautogui.click(x=0.{i % 10}, y=0.5)"] * rows),
            }
        )


@pytest.mark.parametrize("fmt", ["parquet", "hf"])
def test_memory_stays_bounded_whatever_the_size(tmp_path: Path, fmt: str) -> None:
    allocated: list[int] = []
    batches, rows = 60, 50_000  # 3 million rows, ~200 MB of Arrow data in total
    baseline = pa.total_allocated_bytes()
    result = write_dataset(
        big_stream(batches, rows, allocated),
        tmp_path,
        fmt,
        CARD,
        progress=False,  # type: ignore[arg-type]
        shard_rows=1_000_000,
    )
    assert result.rows == batches * rows
    one_batch = 50_000 * (8 + 8 + 30 + 10 + 8)
    peak = max(allocated) - baseline
    assert peak < 4 * one_batch, f"{peak / 1e6:.1f} MB held while writing"
    if fmt == "hf":
        assert len(result.files) == 3
    total = sum(pq.read_metadata(f).num_rows for f in result.files)
    assert total == batches * rows


def test_hf_directory_loads_with_the_datasets_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real `datasets` library (offline: a local directory) reads what we wrote, every row."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    batches = sample_batches()
    write_dataset(iter(batches), tmp_path, "hf", CARD, progress=False, shard_rows=10)
    loaded = datasets.load_dataset(str(tmp_path), split="train", cache_dir=str(tmp_path / ".c"))
    assert loaded.num_rows == sum(b.num_rows for b in batches)
    first = batches[0].to_pylist()[0]
    assert loaded[0]["kind"] == first["kind"] and loaded[0]["t_start"] == first["t_start"]
