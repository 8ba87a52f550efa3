"""Admissions one at a time, each checked in a worker thread, so the loop never waits.

The checking child can take seconds on a large or hostile file; the agent must go on
noticing deaths and restarting services meanwhile. `begin` (file safety, reading) and the
callback run on the loop; only the wait for the child's verdict runs in a thread, which
hands the verdict back through `post`. Waiting requests with the same key are folded into
one (ten reloads while one is being checked make one more check, and all ten hear its
outcome); the queue is bounded.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from typing import Callable, Deque, List, Optional, Tuple

from ..refusal import CHECK_FAILED, Refusal
from .admitter import Admitted, Job
from .child import decide_in_child
from .verdict import Request, Verdict

Outcome = Tuple[Optional[Admitted], Optional[Refusal]]
Finish = Callable[[Optional[Job], Optional[Verdict], Optional[Refusal]], Outcome]
Done = Callable[[Optional[Admitted], Optional[Refusal]], None]
MAX_WAITING = 16


@dataclass
class _Item:
    """One queued config job; callers of the same key share its result."""

    key: Optional[str]
    begin: Callable[[], Job]
    finish: Finish
    done: List[Done] = field(default_factory=list)


class CheckQueue:
    def __init__(self, post: Callable[[Callable[[], None]], None],
                 check: Callable[[Request], Verdict] = decide_in_child) -> None:
        self.post = post
        self.check = check
        self._waiting: Deque[_Item] = collections.deque()
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, key: Optional[str], begin: Callable[[], Job], finish: Finish, done: Done) -> None:
        """On the loop. `begin` runs when it is this request's turn; `finish` gets (job,
        verdict, None), or (job or None, None, refusal) when it was refused before the
        child, and says the outcome once; every `done` folded into the request hears it."""
        for item in self._waiting:
            if key is not None and item.key == key:
                item.done.append(done)
                return
        if len(self._waiting) >= MAX_WAITING:
            done(None, Refusal(CHECK_FAILED, "too many configs waiting to be checked; try again",
                               {"config": key or "-", "reason": "queue full"}))
            return
        self._waiting.append(_Item(key, begin, finish, [done]))
        self._next()

    def _next(self) -> None:
        while not self._busy and self._waiting:
            item = self._waiting.popleft()
            try:
                job = item.begin()
            except Refusal as refusal:
                self._tell(item, None, None, refusal)
                continue
            self._busy = True
            threading.Thread(target=self._run, args=(item, job), name="procguard-check", daemon=True).start()

    def _run(self, item: _Item, job: Job) -> None:  # worker thread
        verdict = self.check(job.request)
        try:
            self.post(lambda: self._checked(item, job, verdict))
        except OSError:
            pass  # the loop is gone (the agent stops): nobody waits for the answer

    def _checked(self, item: _Item, job: Job, verdict: Verdict) -> None:
        self._busy = False
        try:
            self._tell(item, job, verdict, None)
        finally:
            self._next()

    @staticmethod
    def _tell(item: _Item, job: Optional[Job], verdict: Optional[Verdict], refusal: Optional[Refusal]) -> None:
        admitted, refusal = item.finish(job, verdict, refusal)
        for done in item.done:
            done(admitted, refusal)
