"""What a raw wait status means, in the words the events use."""

from __future__ import annotations

import os
import signal
from typing import Optional


def describe_status(status: Optional[int]) -> str:
    """exit:N, signal:NAME, or unknown (a process the agent did not start gives no status)."""
    if status is None:
        return "unknown"
    if os.WIFEXITED(status):
        return f"exit:{os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        num = os.WTERMSIG(status)
        try:
            return f"signal:{signal.Signals(num).name[3:]}"
        except ValueError:
            return f"signal:{num}"
    return "unknown"


def exit_code(status: Optional[int]) -> Optional[int]:
    if status is not None and os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return None
