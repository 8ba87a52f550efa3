"""Keep the agent's resident size to what it uses: glibc's heap, two knobs.

* glibc keeps freed memory for reuse. After a one-off burst (a config applied: 500 watches
  scanned, matched and started; a big metrics file rendered in the writer's thread) that
  is about 1 MiB the agent would otherwise keep for months. `trim()` (malloc_trim(0)) hands
  the free pages of every arena back (MADV_DONTNEED); it costs well under a millisecond.
* glibc gives every thread that allocates an arena of its own, each keeping its own free
  pages. The agent's threads (metrics writer and server, probe workers, hooks) hold the GIL
  anyway and allocate little, so `one_arena()` (M_ARENA_MAX=1) makes them share the main
  arena: about 0.2 MiB less at 500 watches with metrics on.

Ground floor: imports nothing of ours.
"""

from __future__ import annotations

from typing import Any, Optional

_libc: Optional[Any] = None


M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


def _call(name: str, *args: int) -> bool:
    """A glibc malloc function; False where the C library lacks it (musl) or ctypes is missing."""
    global _libc
    try:
        if _libc is None:
            import ctypes  # the agent has it loaded already (loop.set_child_subreaper)

            _libc = ctypes.CDLL(None)
        return bool(getattr(_libc, name)(*args))
    except (ImportError, OSError, AttributeError):
        return False


def trim() -> bool:
    """malloc_trim(0): free pages of every arena back to the kernel."""
    return _call("malloc_trim", 0)


def one_arena() -> bool:
    """Every thread allocates from the main arena; call before the agent starts threads."""
    return _call("mallopt", M_ARENA_MAX, 1)


class HeapTrim:
    """A Companion of the engine (observer.py): trims once the first config is in force (every
    watch adopted or started, the outputs up) and after every reload."""

    def start(self) -> None:
        trim()

    def reloaded(self) -> None:
        trim()

    def stop(self) -> None:
        pass
