"""Give freed heap back to the kernel, so the agent's resident size is what it uses.

glibc keeps freed memory for reuse, in the main arena and in one arena per thread that ever
allocated. After a one-off burst (a config applied: 500 watches scanned, matched and
started; a big metrics file rendered in the writer's thread) that is about 1 MiB the agent
would otherwise keep for months. malloc_trim(0) hands the free pages of every arena back
(MADV_DONTNEED); it costs well under a millisecond. Ground floor: imports nothing of ours.
"""

from __future__ import annotations

from typing import Any, Optional

_libc: Optional[Any] = None


def trim() -> bool:
    """malloc_trim(0); False where the C library has none (musl) or ctypes is missing."""
    global _libc
    try:
        if _libc is None:
            import ctypes  # the agent has it loaded already (loop.set_child_subreaper)

            _libc = ctypes.CDLL(None)
        return bool(_libc.malloc_trim(0))
    except (ImportError, OSError, AttributeError):
        return False


class HeapTrim:
    """A Companion of the engine (observer.py): trims once the first config is in force (every
    watch adopted or started, the outputs up) and after every reload."""

    def start(self) -> None:
        trim()

    def reloaded(self) -> None:
        trim()

    def stop(self) -> None:
        pass
