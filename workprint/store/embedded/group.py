"""Group commit: concurrent batches share one durable commit instead of one each.

Callers hand over prepared items and get a future. One committer thread takes everything queued
(up to a bound), commits it as one group — one transaction, one fsync — and resolves every
item's future with its own outcome. There is no timer: under light load a group is one item and
commits at once; under heavy load items pile up while a group commits and the next group takes
them all, so a commit's cost is shared by as many batches as arrived meanwhile. A caller need
not block while its batch waits (the collector awaits the future on its event loop), so the
threads that do the CPU work of the next batches are not tied up waiting for the disk.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from workprint.store.interface import StoreError

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Slot(Generic[Item, Result]):
    item: Item
    weight: int
    future: Future[Result]


class GroupCommit(Generic[Item, Result]):
    """``submit(item)`` queues an item; its future holds the item's outcome once its group
    committed. ``commit(items)`` runs in the committer thread, one group at a time, and returns
    one outcome — a result or an exception — per item, in order."""

    def __init__(
        self,
        commit: Callable[[list[Item]], Sequence[Result | BaseException]],
        *,
        max_items: int,
        max_weight: int,
        name: str = "workprint-group-commit",
    ) -> None:
        self._commit = commit
        self._max_items = max_items
        self._max_weight = max_weight
        self._name = name
        self._cond = threading.Condition()
        self._queue: deque[_Slot[Item, Result]] = deque()
        self._thread: threading.Thread | None = None
        self._closing = False
        self.busy = False  # a group is being committed
        self.groups = 0  # committed so far (for tests and the benchmark)
        self.items = 0

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def submit(self, item: Item, weight: int = 1) -> Future[Result]:
        future: Future[Result] = Future()
        with self._cond:
            if self._closing:
                raise StoreError("the store is closing")
            self._queue.append(_Slot(item, weight, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the committer."""
        with self._cond:
            self._closing = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                group = self._take()
                self.busy = True
            outcomes = self._outcomes([slot.item for slot in group])
            with self._cond:
                self.busy = False
                self.groups += 1
                self.items += len(group)
            for slot, outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    slot.future.set_exception(outcome)
                else:
                    slot.future.set_result(outcome)

    def _take(self) -> list[_Slot[Item, Result]]:
        """The oldest queued items, at least one, within the bounds."""
        group = [self._queue.popleft()]
        weight = group[0].weight
        while self._queue and len(group) < self._max_items:
            if weight + self._queue[0].weight > self._max_weight:
                break
            slot = self._queue.popleft()
            weight += slot.weight
            group.append(slot)
        return group

    def _outcomes(self, items: list[Item]) -> Sequence[Result | BaseException]:
        try:
            outcomes = self._commit(items)
        except BaseException as exc:  # the whole group failed: every caller hears why
            return [exc] * len(items)
        if len(outcomes) != len(items):  # pragma: no cover - a bug in commit
            return [RuntimeError("group commit returned the wrong number of outcomes")] * len(items)
        return outcomes
