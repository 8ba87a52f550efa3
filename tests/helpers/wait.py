"""Wait on a condition with a deadline: never a blind sleep."""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], Optional[T]], timeout: float = 10.0, interval: float = 0.02,
               what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last: Optional[T] = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")
