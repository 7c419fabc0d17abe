"""Processes as Linux's /proc shows them: who a process's children are, and whether one still
runs (a zombie does not: it holds no memory, sockets or shared memory any more). The test
servers use this to crash a server completely and know when it is gone."""

from __future__ import annotations

from pathlib import Path


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` right now."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ')'
        fields = stat_line.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            children.append(int(entry.name))
    return children


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie holds no shared memory)."""
    try:
        stat_line = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    fields = stat_line.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] not in ("Z", "X")
