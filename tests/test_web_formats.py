"""WebLINX / Mind2Web-style records: from raw browser events, and from an actions dataset built
from a real store (OS input joined with browser events) through `workprint export`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from tests.store_support import enrol, master_path, open_store, table
from tests.test_actions_web_join import FORM, MS, T0, S, timeline, web
from workprint.builders.actions import reduce_actions
from workprint.events import Event, WebNav
from workprint.events.columnar import events_to_table
from workprint.export.web_formats import (
    WebFormatError,
    WebRecord,
    from_actions,
    from_events,
    to_mind2web,
    to_weblinx,
    with_web_format,
)

PAY = {
    "tag": "button",
    "role": "button",
    "name": "Pay",
    "id": "pay",
    "selector": "#pay",
    "box": [90, 190, 40, 20],
}
CITY = {"tag": "input", "name": "City", "type": "text", "selector": "#city"}


def test_records_from_browser_events_field_by_field() -> None:
    events: list[Event] = [
        WebNav(t=T0, session=S, seq=1, tab=2, url=FORM, transition="typed"),
        web(T0 + MS, 2, "click", el_tag="button", el_id="pay", el_selector="#pay"),
        web(T0 + 2 * MS, 3, "input", el_tag="input", el_selector="#city", value="Oslo"),
        web(T0 + 3 * MS, 4, "input", el_tag="input", el_selector="#zip", length=4),
        web(T0 + 4 * MS, 5, "scroll", dy=300),
        web(T0 + 5 * MS, 6, "submit", el_tag="form", el_selector="#checkout"),
    ]
    records = from_events(events)
    assert records == [
        WebRecord(session=S, t=T0, action="load", url=FORM),
        WebRecord(
            session=S,
            t=T0 + MS,
            action="click",
            url=FORM,
            element={"tag": "button", "id": "pay", "selector": "#pay"},
        ),
        WebRecord(
            session=S,
            t=T0 + 2 * MS,
            action="type",
            url=FORM,
            element={"tag": "input", "selector": "#city"},
            value="Oslo",
        ),
        WebRecord(
            session=S,
            t=T0 + 3 * MS,
            action="type",
            url=FORM,
            element={"tag": "input", "selector": "#zip"},
        ),
        WebRecord(session=S, t=T0 + 4 * MS, action="scroll", url=FORM, dy=300),
        WebRecord(
            session=S,
            t=T0 + 5 * MS,
            action="submit",
            url=FORM,
            element={"tag": "form", "selector": "#checkout"},
        ),
    ]
    assert [to_weblinx(r) for r in records] == [
        f'load(url="{FORM}")',
        'click(uid="#pay")',
        'text_input(text="Oslo", uid="#city")',
        None,  # a typed value without the text-content scope: nothing to replay
        "scroll(x=0, y=300)",
        'submit(uid="#checkout")',
    ]
    assert [to_mind2web(r) for r in records] == [
        None,
        {
            "operation": {"op": "CLICK", "original_op": "CLICK", "value": ""},
            "target": {"tag": "button", "selector": "#pay", "attributes": {"id": "pay"}},
            "url": FORM,
        },
        {
            "operation": {"op": "TYPE", "original_op": "TYPE", "value": "Oslo"},
            "target": {"tag": "input", "selector": "#city", "attributes": {}},
            "url": FORM,
        },
        None,
        None,
        {
            "operation": {"op": "CLICK", "original_op": "ENTER", "value": ""},
            "target": {"tag": "form", "selector": "#checkout", "attributes": {}},
            "url": FORM,
        },
    ]


def test_select_elements_become_mind2web_select() -> None:
    record = WebRecord(
        session=S, t=T0, action="type", url=FORM, element={"tag": "select"}, value="NO"
    )
    rendered = to_mind2web(record)
    assert rendered is not None and rendered["operation"]["op"] == "SELECT"


def test_records_from_joined_actions() -> None:
    actions = reduce_actions(events_to_table(timeline()))
    records = from_actions(actions)
    assert records == [
        WebRecord(session=S, t=T0 + 100 * MS, action="click", url=FORM, element=PAY),
        WebRecord(session=S, t=T0 + 1_000 * MS, action="type", url=FORM, element=CITY, value="hi"),
        WebRecord(session=S, t=T0 + 3_000 * MS, action="scroll", url=FORM, dx=0, dy=1),
        None,  # the right click: not on a page element
        None,  # the click whose DOM click was too late
    ]


def test_a_malformed_element_gets_its_row_named() -> None:
    actions = reduce_actions(events_to_table(timeline()))
    index = actions.schema.get_field_index("element")
    for bad, reason in (("{not json", "not JSON"), ('{"colour": 1}', "not an element")):
        broken = actions.set_column(
            index, "element", pa.array([bad, None, None, None, None], pa.string())
        )
        with pytest.raises(WebFormatError, match=f"action 0: element is {reason}"):
            with_web_format(broken, "weblinx")
    with pytest.raises(WebFormatError, match="unknown web format 'webarena'"):
        with_web_format(actions, "webarena")  # type: ignore[arg-type]


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workprint", *args],
        env={"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_weblinx_and_mind2web_from_a_built_store(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        store.ingest(subject.principal, "b1", table(timeline()))
    built_dir = tmp_path / "actions"
    store_args = ("--store", str(tmp_path / "data"), "--master-key", str(master_path(tmp_path)))
    built = run_cli(
        tmp_path, "build", "actions", "--out", str(built_dir), "--format", "jsonl",
        "--no-progress", *store_args,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    rows = jsonl(built_dir / "train.jsonl")
    assert [json.loads(str(r["element"])) if r["element"] else None for r in rows] == [
        PAY, CITY, None, None, None,
    ]  # fmt: skip
    assert [r["url"] for r in rows] == [FORM, FORM, FORM, None, None]

    out = tmp_path / "weblinx"
    done = run_cli(
        tmp_path, "export", "weblinx", "--actions", str(built_dir), "--out", str(out),
        "--format", "jsonl", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("exported 5 actions as weblinx")
    assert [r["action"] for r in jsonl(out / "train.jsonl")] == [
        'click(uid="#pay")',
        'text_input(text="hi", uid="#city")',
        "scroll(x=0, y=1)",  # one notch down
        None,
        None,
    ]
    assert "WebLINX action string" in (out / "README.md").read_text()

    out = tmp_path / "mind2web"
    done = run_cli(
        tmp_path, "export", "mind2web", "--actions", str(built_dir), "--out", str(out),
        "--format", "jsonl", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    actions = [r["action"] for r in jsonl(out / "train.jsonl")]
    assert json.loads(str(actions[0])) == {
        "operation": {"op": "CLICK", "original_op": "CLICK", "value": ""},
        "target": {
            "tag": "button",
            "selector": "#pay",
            "attributes": {
                "id": "pay",
                "role": "button",
                "aria_label": "Pay",
                "bounding_box_rect": "90,190,40,20",
            },
        },
        "url": FORM,
    }
    assert json.loads(str(actions[1]))["operation"] == {
        "op": "TYPE",
        "original_op": "TYPE",
        "value": "hi",
    }
    assert actions[2:] == [None, None, None]

    # a hand-edited dataset with a broken element: one line naming the row, nothing written
    broken = tmp_path / "broken.jsonl"
    rows[0]["element"] = "{not json"
    broken.write_text("".join(json.dumps(r) + "\n" for r in rows))
    failed = run_cli(
        tmp_path, "export", "weblinx", "--actions", str(broken), "--out",
        str(tmp_path / "never"), "--no-progress",
    )  # fmt: skip
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines() == [
        "workprint: error: action 0: element is not JSON: Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)"
    ]
    assert not (tmp_path / "never").exists()
