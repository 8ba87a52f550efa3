"""The typed watch config the engine runs on, with the defaults applied."""

from __future__ import annotations

import functools
import json
import re
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Optional, Tuple

from ..durations import parse_duration
from ..fileio import sha256_hex
from .action_spec import ActionSpec, ListenerSpec, build_action, build_listener
from .hook_spec import HookSpec, build_hook
from .limits_spec import LimitsSpec, build_limits
from .listen_spec import NO_LISTEN, ListenSpec, build_listen
from .probe_spec import ProbeSpec, build_probe
from .service_spec import OutputSpec, ReloadSpec, build_output, build_reload

# one of each per watch, for months: no __dict__ where Python allows (3.10+), ~0.2 MiB at 500 watches
PER_WATCH: Dict[str, Any] = {"frozen": True, **({"slots": True} if sys.version_info >= (3, 10) else {})}

# the PATH a started service gets unless its `start.env` sets one (and where a bare
# program name in `start.argv` is looked up)
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# the umask a started service gets unless `start.umask` says otherwise (systemd's default);
# `start.umask: inherit` keeps the agent's own (the unit's UMask=0077 would make every
# file a service writes private to its user)
SERVICE_UMASK = 0o022

DEFAULTS: Dict[str, Any] = {
    "instances": {"min": 1},
    "start": {"shell": False, "env": {}, "cwd": "/", "timeout": "30s", "ready": {"alive_for": "1s"}},
    "stop": {"signal": "TERM", "timeout": "10s"},
    "restart": {
        "max_restarts": 5, "window": "60s", "no_restart_exit_codes": [],
        "backoff": {"initial": "1s", "max": "60s", "multiplier": 2.0, "jitter": 0.2, "reset_after": "60s"},
    },
    "probes": [],
    "on_giveup": {"action": "stop_watching", "retry_every": "5m", "escalate": []},
}


@dataclass(**PER_WATCH)
class Match:
    """How to find a watch's processes in /proc; every given field must match."""

    pidfile: Optional[str] = None
    exe: Optional[str] = None
    cmdline: Optional[str] = None
    comm: Optional[str] = None
    user: Optional[str] = None
    parent: Optional[str] = None
    pidfile_alone: bool = False  # the config accepts a pidfile as the only criterion
    argv: Optional[Tuple[str, ...]] = None  # derived from start.argv when no criteria given
    run_as: Optional[str] = None  # derived from start.user: a pidfile's process must run as it

    def pattern(self) -> Optional[re.Pattern[str]]:
        return re.compile(self.cmdline) if self.cmdline else None


@dataclass(**PER_WATCH)
class Start:
    """How the agent starts a watch's process, and what it sees when it runs."""

    argv: Tuple[str, ...]
    shell: bool
    user: Optional[str]
    group: Optional[str]
    env: Tuple[Tuple[str, str], ...]
    cwd: str
    timeout: float
    alive_for: float
    ready_probe: Optional[str]
    umask: Optional[int]  # None: inherit the agent's
    listen: ListenSpec = NO_LISTEN  # sockets the agent holds for it (socket activation)


@dataclass(frozen=True)
class BackoffPolicy:
    """The wait before each restart: grows by multiplier, with jitter, reset after a good run."""

    initial: float
    max: float
    multiplier: float
    jitter: float
    reset_after: float


@dataclass(frozen=True)
class RestartPolicy:
    """How many restarts a watch gets in a window before it gives up."""

    max_restarts: int
    window: float
    backoff: BackoffPolicy
    no_restart_exit_codes: FrozenSet[int]


@dataclass(frozen=True)
class GiveUp:
    """What happens when restarts cannot recover a watch: stop, retry later, or escalate."""

    action: str
    retry_every: float
    escalate: Tuple[ActionSpec, ...]


@dataclass(**PER_WATCH)
class Watch:
    """One watched service, typed and checked: the unit of everything the agent does."""

    name: str
    match: Match
    min_instances: int
    max_instances: int
    start: Optional[Start]
    stop_signal: int
    stop_timeout: float
    restart: RestartPolicy
    on_giveup: GiveUp
    probes: Tuple[ProbeSpec, ...]
    fingerprint: str  # sha256 of the merged entry's canonical JSON: equal means unchanged on reload
    limits: LimitsSpec = field(default_factory=LimitsSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    reload: Optional[ReloadSpec] = None
    after: Tuple[str, ...] = ()
    systemd_unit: Optional[str] = None  # supervised through systemctl; `start` is derived from it


@dataclass
class Config:
    """A whole watch config as applied: its terms (serial, scope, expiry), watches and hooks."""

    path: str
    version: int
    serial: Optional[int]
    scope: Tuple[str, ...]
    not_after: Optional[str]
    watches: Tuple[Watch, ...]
    haproxy_agent: Tuple[ListenerSpec, ...] = ()
    hooks: Tuple[HookSpec, ...] = ()

    def watch(self, name: str) -> Optional[Watch]:
        return next((w for w in self.watches if w.name == name), None)


def merge(base: Any, over: Any) -> Any:
    """Deep-merge mappings; anything else in `over` replaces `base`."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    return over


def merged_entry(entry: Dict[str, Any], defaults: Dict[str, Any]) -> Dict[str, Any]:
    merged = merge(merge(DEFAULTS, defaults), entry)
    if ("start" not in entry and "start" not in defaults) or "systemd_unit" in entry:
        merged.pop("start", None)
    # a copy: without `instances` in the entry and the defaults, merge() hands back DEFAULTS'
    # own mapping, and a max set here stayed there for every later watch (min 3 -> max 1)
    instances = merged["instances"] = dict(merged["instances"])
    instances.setdefault("max", max(1, instances.get("min", 1)))
    return merged


def _shared(cache: Dict[Any, Any], value: Any) -> Any:
    """One object for equal parts of many watches (a fleet host's 500 watches mostly share
    their restart policy and give-up rules): about 0.3 MiB less in the long-running agent."""
    return cache.setdefault((type(value), value), value)


def build_watch(entry: Dict[str, Any], defaults: Dict[str, Any], cache: Optional[Dict[Any, Any]] = None) -> Watch:
    share = functools.partial(_shared, {} if cache is None else cache)
    m = merged_entry(entry, defaults)
    unit = m.get("systemd_unit")
    start = _start(m["start"]) if "start" in m else None
    if unit is not None:
        start = systemd_start(unit)
    given = {k: v for k, v in m.get("match", {}).items()}
    match = Match(**given, run_as=start.user if start is not None else None)
    if not given and start is not None and not start.shell and unit is None:
        match = Match(argv=start.argv, run_as=start.user)
    b = m["restart"]["backoff"]
    return Watch(
        name=m["name"],
        match=match,
        min_instances=int(m["instances"].get("min", 1)),
        max_instances=int(m["instances"]["max"]),
        start=start,
        stop_signal=int(getattr(signal, "SIG" + m["stop"]["signal"])),
        stop_timeout=share(parse_duration(m["stop"]["timeout"])),
        restart=share(RestartPolicy(
            max_restarts=int(m["restart"]["max_restarts"]),
            window=parse_duration(m["restart"]["window"]),
            backoff=BackoffPolicy(
                initial=parse_duration(b["initial"]), max=parse_duration(b["max"]),
                multiplier=float(b["multiplier"]), jitter=float(b["jitter"]),
                reset_after=parse_duration(b["reset_after"]),
            ),
            no_restart_exit_codes=frozenset(m["restart"]["no_restart_exit_codes"]),
        )),
        on_giveup=share(GiveUp(
            action=m["on_giveup"]["action"],
            retry_every=parse_duration(m["on_giveup"]["retry_every"]),
            escalate=tuple(build_action(a, i) for i, a in enumerate(m["on_giveup"].get("escalate", []))),
        )),
        probes=tuple(build_probe(p) for p in m.get("probes", [])),
        fingerprint=sha256_hex(json.dumps(m, sort_keys=True, default=str).encode()),
        limits=share(build_limits(m.get("limits"))),
        output=share(build_output(m.get("output"))),
        reload=build_reload(m.get("reload")) or (systemd_reload(unit) if unit else None),
        after=tuple(m.get("after", ())),
        systemd_unit=unit,
    )


def systemd_start(unit: str, timeout: float = 30.0) -> Start:
    """A systemd_unit watch starts through systemd: `systemctl restart --no-block UNIT` returns
    at once, and the unit's MainPID is then found and watched like a forking daemon's."""
    # alive_for = timeout: systemctl always exits first, so its exit 0 reads as a launcher's
    return Start(argv=("systemctl", "restart", "--no-block", unit), shell=False, user=None, group=None, env=(),
                 cwd="/", timeout=timeout, alive_for=timeout, ready_probe=None, umask=None)


def systemd_reload(unit: str) -> ReloadSpec:
    return ReloadSpec(argv=("systemctl", "reload", unit))


def _start(s: Dict[str, Any]) -> Start:
    ready = s.get("ready", {})
    return Start(
        argv=tuple(s["argv"]),
        shell=bool(s.get("shell", False)),
        user=s.get("user"),
        group=s.get("group"),
        env=tuple(sorted(s.get("env", {}).items())),
        cwd=s.get("cwd", "/"),
        timeout=parse_duration(s.get("timeout", 30)),
        alive_for=parse_duration(ready.get("alive_for", 1)) if "probe" not in ready else 0.0,
        ready_probe=ready.get("probe"),
        umask=None if s.get("umask") == "inherit" else int(s.get("umask", "022"), 8),
        listen=build_listen(s),
    )


def build_config(path: str, doc: Dict[str, Any]) -> Config:
    defaults = doc.get("defaults", {}) or {}
    cache: Dict[Any, Any] = {}
    return Config(
        path=path,
        version=int(doc["version"]),
        serial=doc.get("serial"),
        scope=tuple(doc.get("scope", [])),
        not_after=doc.get("not_after"),
        watches=tuple(build_watch(w, defaults, cache) for w in doc.get("watches", [])),
        haproxy_agent=tuple(build_listener(cfg) for cfg in doc.get("haproxy_agent", [])),
        hooks=tuple(build_hook(cfg) for cfg in doc.get("hooks", [])),
    )

