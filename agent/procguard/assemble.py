"""The composition root: builds the agent from its parts, and nothing else builds them.

The engine imports only downward; this module is the one place that knows every part:
the admitter, the spawner, the reaper and the process tree (a cgroup per watch, or process
groups) below the engine; the probe and escalation adapters, the tree's status, the control
server with its commands, and the pull worker above it.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from .cgroups.choose import TreeSettings, choose
from .children.reaper import REAPER, Reaper
from .control.commands import Commands
from .control.server import ControlServer
from .engine import Engine
from .escalation.adapter import EscalationAdapter
from .events.emitter import Emitter
from .intake.admitter import Admitter
from .probes.adapter import ProbesAdapter
from .settings import Settings
from .spawn import ProcessSpawner, Spawner
from .tree_env import TreeStatus


def build_engine(settings: Settings, emitter: Emitter, spawner: Optional[Spawner] = None,
                 reaper: Reaper = REAPER, clock: Callable[[], float] = time.monotonic) -> Engine:
    tree = choose(TreeSettings(**settings.cgroups, instance=settings.state_dir))
    engine = Engine(settings, emitter, Admitter(settings, emitter),
                    spawner or ProcessSpawner(settings.service_log_dir), reaper, clock, tree=tree)
    engine.observers = [ProbesAdapter(engine), EscalationAdapter(engine),
                        TreeStatus(engine, engine.start_order.waiting_for)]
    pull_status = None
    if settings.pull.get("url"):
        # imported only when pulling: the pull client loads `requests` (about 15 MiB)
        from .intake.pull_worker import PullWorker

        pull = PullWorker(settings.pull, settings.host_name, settings.config, engine.loop.post,
                          engine.emit, engine.offer)
        engine.companions.append(pull)
        pull_status = pull.status
    commands = Commands(engine, pull_status)
    control = ControlServer(settings.socket, commands.handle,
                            lambda uid, why: engine.emit("control_refused", uid=uid, reason=why), engine.loop)
    engine.companions.insert(0, control)
    return engine
