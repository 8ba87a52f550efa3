"""Every state a watch can be in, and every change between them that is allowed.

Ground floor: imports nothing of ours. The only place states are defined.

    STARTING  a process was started and is not yet good (alive_for, or ready probe)
    RUNNING   enough instances run and the last start was good
    STOPPING  a stop signal was sent (restart request, stall, or to the left-overs of a
              process that died); waiting until nothing of the tree is left
    BACKOFF   a restart waits for its delay
    GAVE_UP   the restart budget is spent; on_giveup is in force
    PAUSED    an operator paused the watch; nothing is restarted
    DOWN      too few instances and nothing to start them with (a watch without start)
    EXITED    the process ended with an exit code that means "do not restart"
    BROKEN    an internal error while handling the watch: set aside, its processes left as
              they are; `procguard restart NAME` or a reload that changes it starts afresh

`WatchUnit._to()` (unit.py) is the one function that changes a state; it refuses any edge
that is not in EDGES, so a new path through the machine has to be added here, on purpose.
"""

from typing import Dict, FrozenSet

STARTING = "starting"
RUNNING = "running"
STOPPING = "stopping"
BACKOFF = "backoff"
GAVE_UP = "gave_up"
PAUSED = "paused"
DOWN = "down"
EXITED = "exited"
BROKEN = "broken"

ALL = (STARTING, RUNNING, STOPPING, BACKOFF, GAVE_UP, PAUSED, DOWN, EXITED, BROKEN)

EDGES: Dict[str, FrozenSet[str]] = {
    # a start ends well, fails, gives up, is stopped (stall, restart), paused, or its process exits
    STARTING: frozenset({RUNNING, BACKOFF, GAVE_UP, STOPPING, PAUSED, DOWN, EXITED}),
    RUNNING: frozenset({STARTING, BACKOFF, GAVE_UP, STOPPING, PAUSED, DOWN, EXITED}),
    # once every stopped process exited: start again, back off, give up; or an operator pauses;
    # or, after the left-overs of a process that exited with a no-restart code are gone: exited
    STOPPING: frozenset({STARTING, RUNNING, BACKOFF, GAVE_UP, PAUSED, DOWN, EXITED}),
    BACKOFF: frozenset({STARTING, GAVE_UP, STOPPING, PAUSED}),
    # slow retry or an operator's restart starts again
    GAVE_UP: frozenset({STARTING, STOPPING, PAUSED}),
    PAUSED: frozenset({STARTING, DOWN}),
    # a watch without start: its processes come back, or an operator acts
    DOWN: frozenset({RUNNING, STARTING, STOPPING, PAUSED}),
    EXITED: frozenset({STARTING, STOPPING, PAUSED, DOWN}),
    BROKEN: frozenset({STARTING, STOPPING, PAUSED, DOWN}),
}
# any state may end in BROKEN: that is what the engine's guard is for
for _state in ALL[:-1]:
    EDGES[_state] = EDGES[_state] | {BROKEN}


class IllegalTransition(RuntimeError):
    """A bug: the state machine tried an edge that EDGES does not allow."""


def check_edge(old: str, new: str) -> None:
    if new not in EDGES[old]:
        raise IllegalTransition(f"{old} -> {new} is not an allowed transition")
