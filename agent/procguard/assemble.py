"""The composition root: builds the agent from its parts, and nothing else builds them.

The engine imports only downward; this module is the one place that knows every part:
the admitter, the spawner, the reaper and the process tree (a cgroup per watch, or process
groups) below the engine; the probe, escalation, hooks and metrics adapters, the tree's
status, the metrics outputs, the canary, the control server with its commands (and its
read-only twin), and the pull worker above it.
"""

from __future__ import annotations

import functools
import time
from typing import Callable, Optional

from .cgroups.choose import TreeSettings, choose
from .children.reaper import REAPER, Reaper
from .control.commands import Commands
from .control.server import ControlServer
from .engine import Engine
from .escalation.adapter import EscalationAdapter
from .events.emitter import Emitter
from . import heap
from .heap import HeapTrim
from . import activation
from .hooks.adapter import HooksAdapter
from .intake.admitter import Admitter
from .probes.adapter import ProbesAdapter
from .settings import Settings
from .spawn import ProcessSpawner, Spawner
from .tree_env import TreeStatus


def build_engine(settings: Settings, emitter: Emitter, spawner: Optional[Spawner] = None,
                 reaper: Reaper = REAPER, clock: Callable[[], float] = time.monotonic) -> Engine:
    heap.one_arena()  # before any thread of the agent exists
    tree = choose(TreeSettings(**settings.cgroups, instance=settings.state_dir))
    engine = Engine(settings, emitter, Admitter(settings, emitter),
                    spawner or ProcessSpawner(settings.service_log_dir), reaper, clock, tree=tree)
    probes = ProbesAdapter(engine)
    engine.observers = [probes, EscalationAdapter(engine), HooksAdapter(engine),
                        TreeStatus(engine, engine.start_order.waiting_for)]
    engine.spawner = activation.wire(engine.observers, engine.spawner, engine.emit)  # start.listen
    metrics_text = None
    canary_record = None
    if settings.metrics_enabled:
        # What is not configured is not imported: each module costs the agent RSS for months.
        from .metrics.adapter import MetricsAdapter
        from .metrics.exposition import render_text
        from .metrics.outputs import MetricsOutputs
        from .metrics.recorder import Recorder

        recorder = Recorder()
        metrics = MetricsAdapter(engine, recorder)
        engine.observers.append(metrics)
        engine.companions.append(MetricsOutputs(engine, metrics, recorder))
        probes.mgr.on_checked = metrics.probe_checked
        metrics_text = functools.partial(render_text, recorder.registry)
        canary_record = recorder.canary
    pull_status = None
    if settings.pull.get("url"):
        # imported only when pulling: the pull client loads `requests` (about 15 MiB)
        from .intake.pull_worker import PullWorker

        pull = PullWorker(settings.pull, settings.host_name, settings.config, engine.loop.post,
                          engine.emit, engine.offer)
        engine.companions.append(pull)
        pull_status = pull.status
    commands = Commands(engine, pull_status, metrics_text)
    control = ControlServer(settings.socket, commands.handle,
                            lambda uid, why: engine.emit("control_refused", uid=uid, reason=why), engine.loop)
    engine.companions.insert(0, control)
    if settings.read_only_group:
        from .control.readonly import ReadOnlyControl

        engine.companions.insert(1, ReadOnlyControl(settings.read_only_socket, settings.read_only_group,
                                                    commands.handle, engine.emit, engine.loop))
    if settings.canary_interval:
        from .canary import Canary

        engine.companions.append(Canary(engine, settings.canary_interval, settings.canary_bound, canary_record))
    engine.companions.append(HeapTrim())  # last: after everything else has started
    return engine
