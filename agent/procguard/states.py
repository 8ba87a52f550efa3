"""Every state a watch can be in. The only place states are defined.

    STARTING  a process was started and is not yet good (alive_for, or ready probe)
    RUNNING   enough instances run and the last start was good
    STOPPING  a stop signal was sent (restart request or stall); waiting for the exit
    BACKOFF   a restart waits for its delay
    GAVE_UP   the restart budget is spent; on_giveup is in force
    PAUSED    an operator paused the watch; nothing is restarted
    DOWN      too few instances and nothing to start them with (a watch without start)
    EXITED    the process ended with an exit code that means "do not restart"
"""

STARTING = "starting"
RUNNING = "running"
STOPPING = "stopping"
BACKOFF = "backoff"
GAVE_UP = "gave_up"
PAUSED = "paused"
DOWN = "down"
EXITED = "exited"

ALL = (STARTING, RUNNING, STOPPING, BACKOFF, GAVE_UP, PAUSED, DOWN, EXITED)

# states in which a death leads to a restart decision
RESTARTABLE = (STARTING, RUNNING, BACKOFF)
# states an operator sees as a problem
UNHEALTHY = (BACKOFF, GAVE_UP, DOWN, STOPPING)
