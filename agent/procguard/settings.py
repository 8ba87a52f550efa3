"""The agent's own settings: where things live on this host. Never part of the signed config,
because they say how to reach and trust the config, not what to run.

`load_settings` checks every key, its type and its value, and says what is wrong one line
per problem, in the form of config problems (FILE:LINE: KEY: what to do). `procguard check
--settings FILE` runs exactly this, so Ansible's `validate:` stops a typo before it can
reach a host.
"""

from __future__ import annotations

import grp
import json
import os
import re
import socket as socketlib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .durations import parse_duration
from .events.emitter import FACILITIES
from .loopback import parse_listen

DEFAULT_SETTINGS = "/etc/procguard/agent.yaml"
# node_exporter's textfile folder on Debian: metrics go there by default when it exists
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
READ_ONLY_SOCKET = "/run/procguard-read/status.sock"


@dataclass
class Settings:
    """The agent's own settings, with their defaults; unsigned, root's file."""

    config: str = "/etc/procguard/watches.yaml"
    state_dir: str = "/var/lib/procguard"
    socket: str = "/run/procguard/control.sock"
    trusted_keys: str = "/etc/procguard/trusted.d"
    revoked: str = "/etc/procguard/revoked.txt"
    revoked_required: bool = False  # named in the settings or on the command line: must exist
    host_name: str = field(default_factory=socketlib.gethostname)
    host_groups: List[str] = field(default_factory=list)
    syslog_facility: str = "daemon"
    syslog_socket: str = "/dev/log"
    sweep_interval: float = 300.0
    poll_interval: float = 0.5
    detector: str = "auto"  # auto (pidfd where the kernel has it), pidfd, or poll
    allow_unsigned: bool = False
    log_dir: Optional[str] = None  # default: STATE_DIR/logs
    pull: Dict[str, Any] = field(default_factory=dict)
    cgroups: Dict[str, Any] = field(default_factory=dict)  # mode, fs, path: see cgroups/choose.py
    # observability (docs/observability.md)
    metrics_enabled: bool = True
    metrics_textfile_dir: Optional[str] = None  # None: DEFAULT_TEXTFILE_DIR if it exists; "": none
    metrics_interval: float = 15.0
    metrics_listen: Optional[str] = None        # loopback HOST:PORT for GET /metrics
    journald_socket: str = JOURNAL_SOCKET       # used while it exists; "": never
    read_only_group: Optional[str] = None       # may ask status and metrics on read_only_socket
    read_only_socket: str = READ_ONLY_SOCKET
    canary_interval: Optional[float] = None     # None: no canary self-test
    canary_bound: float = 1.0

    @property
    def service_log_dir(self) -> str:
        return self.log_dir or os.path.join(self.state_dir, "logs")

    @property
    def textfile_dir(self) -> Optional[str]:
        """Where the metrics textfiles go, or None: the configured folder, else node_exporter's
        default folder when it exists (a host without node_exporter gets no stray folder)."""
        if not self.metrics_enabled:
            return None
        if self.metrics_textfile_dir is None:
            return DEFAULT_TEXTFILE_DIR if os.path.isdir(DEFAULT_TEXTFILE_DIR) else None
        return self.metrics_textfile_dir or None

    def absolute(self) -> Settings:
        """Paths made absolute, so services never get a relative NOTIFY_SOCKET or log path."""
        for name in ("config", "state_dir", "socket", "trusted_keys", "revoked", "log_dir", "metrics_textfile_dir",
                     "read_only_socket"):
            value = getattr(self, name)
            if value:
                setattr(self, name, os.path.abspath(value))
        return self


class SettingsError(Exception):
    """A settings file that cannot be used; `problems` holds one line each."""

    def __init__(self, problems: List[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems


def problem_line(file: str, line: int, key: str, message: str) -> str:
    """One line, in the same form as config problems: FILE:LINE: KEY: what to do."""
    return f"{file}:{line}: {key + ': ' if key else ''}{message}"


Check = Callable[[Any], Optional[str]]


def _path(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value.startswith("/"):
        return "must be an absolute path (starting with /)"
    return None


def _text(value: Any) -> Optional[str]:
    return None if isinstance(value, str) and value.strip() and "\0" not in value else "must be a non-empty string"


def _groups(value: Any) -> Optional[str]:
    if not isinstance(value, list) or not all(isinstance(g, str) and g for g in value):
        return "must be a list of group names"
    return None


def _positive_duration(value: Any) -> Optional[str]:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        return str(exc)
    return None if seconds > 0 else "must be more than 0"


def _detector(value: Any) -> Optional[str]:
    return None if value in ("auto", "pidfd", "poll") else f"must be auto, pidfd or poll, not {value!r}"


def _facility(value: Any) -> Optional[str]:
    return None if value in FACILITIES else f"must be one of {', '.join(FACILITIES)}, not {value!r}"


def _path_or_empty(value: Any) -> Optional[str]:
    return None if value == "" else _path(value)


def _cgroup_mode(value: Any) -> Optional[str]:
    return None if value in ("auto", "off") else f"must be auto or off, not {value!r}"


def _cgroup_path(value: Any) -> Optional[str]:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.@-]+(/[A-Za-z0-9_.@-]+)*", value) and ".." not in value
    return None if ok else "must be a relative cgroup path such as procguard or procguard/test-1"


def _flag(value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else "must be true or false"


def _at_least_1s(value: Any) -> Optional[str]:
    why = _positive_duration(value)
    return why or (None if parse_duration(value) >= 1 else "must be at least 1s")


def _listen(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return "must be HOST:PORT on loopback, like 127.0.0.1:9464"
    try:
        parse_listen(value)
    except ValueError as exc:
        return str(exc)
    return None


def _group(value: Any) -> Optional[str]:
    if _text(value):
        return "must be a group name"
    try:
        grp.getgrnam(value)
    except KeyError:
        return f"no group {value!r} on this host; create it (groupadd {value}) or fix the name"
    return None


def _url(value: Any) -> Optional[str]:
    return None if isinstance(value, str) and value.startswith("https://") else "must be an https:// URL"


def _pin(value: Any) -> Optional[str]:
    text = value.replace(":", "").strip().lower() if isinstance(value, str) else ""
    return None if re.fullmatch(r"[0-9a-f]{64}", text) else "must be 64 hex digits (sha256 of the certificate DER)"


TOP: Dict[str, Check] = {
    "config": _path, "state_dir": _path, "socket": _path, "trusted_keys": _path, "revoked": _path,
    "log_dir": _path, "host_name": _text, "host_groups": _groups, "sweep_interval": _positive_duration,
    "poll_interval": _positive_duration, "detector": _detector,
}
NESTED: Dict[str, Dict[str, Check]] = {
    "syslog": {"facility": _facility, "socket": _path_or_empty},
    "cgroups": {"mode": _cgroup_mode, "fs": _path, "path": _cgroup_path, "prepare": _flag},
    "pull": {"url": _url, "ca_bundle": _path, "pinned_sha256": _pin, "interval": _positive_duration,
             "timeout": _positive_duration},
    "metrics": {"enabled": _flag, "textfile_dir": _path_or_empty, "interval": _at_least_1s, "listen": _listen},
    "journald": {"socket": _path_or_empty},
    "read_only": {"group": _group, "socket": _path},
    "canary": {"interval": _at_least_1s, "bound": _positive_duration},
}
# nested key -> Settings attribute, for the groups read key by key
FLAT: Dict[Tuple[str, str], str] = {
    ("syslog", "facility"): "syslog_facility", ("syslog", "socket"): "syslog_socket",
    ("metrics", "enabled"): "metrics_enabled", ("metrics", "textfile_dir"): "metrics_textfile_dir",
    ("metrics", "interval"): "metrics_interval", ("metrics", "listen"): "metrics_listen",
    ("journald", "socket"): "journald_socket",
    ("read_only", "group"): "read_only_group", ("read_only", "socket"): "read_only_socket",
    ("canary", "interval"): "canary_interval", ("canary", "bound"): "canary_bound",
}
DURATIONS = ("sweep_interval", "poll_interval", "metrics_interval", "canary_interval", "canary_bound")
REQUIRED = {"pull": ("url",), "read_only": ("group",), "canary": ("interval",)}


def settings_problems(doc: Any, file: str, line_of: Callable[[Tuple[Any, ...]], int]) -> Iterator[str]:
    if not isinstance(doc, dict):
        yield problem_line(file, 1, "", "must be a mapping of settings; see docs/config.md#agent-settings")
        return
    known = sorted(list(TOP) + list(NESTED))
    for key, value in doc.items():
        where = line_of((key,))
        if key in TOP:
            why = TOP[key](value)
            if why:
                yield problem_line(file, where, key, why)
        elif key in NESTED:
            if not isinstance(value, dict):
                yield problem_line(file, where, key, f"must be a mapping with {', '.join(NESTED[key])}")
                continue
            for sub, item in value.items():
                check = NESTED[key].get(sub)
                line = line_of((key, sub))
                if check is None:
                    yield problem_line(file, line, f"{key}.{sub}", f"unknown setting; write one of {', '.join(NESTED[key])}")
                elif check(item):
                    yield problem_line(file, line, f"{key}.{sub}", str(check(item)))
            for needed in REQUIRED.get(key, ()):
                if needed not in value:
                    yield problem_line(file, where, f"{key}.{needed}", f"is required when {key} is set")
        else:
            yield problem_line(file, where, str(key), f"unknown setting; write one of {', '.join(known)}")


def load_settings(path: Optional[str]) -> Settings:
    """Read and check the settings file; a missing default file means all defaults."""
    settings = Settings()
    file = path or DEFAULT_SETTINGS
    if not os.path.exists(file):
        if path:
            raise SettingsError([problem_line(file, 1, "", "does not exist; create it or drop --settings")])
        return settings
    # Imported here, not above: an agent without a settings file never loads PyYAML (memory).
    from .config.yamlsource import LoadError, load

    try:
        with open(file, "rb") as handle:
            raw = handle.read(64 * 1024 + 1)
        source = load(raw.decode("utf-8"), file)
    except LoadError as exc:
        raise SettingsError([str(exc.problem)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([problem_line(file, 1, "", f"cannot be read ({exc}); fix it")]) from None
    doc = source.data if source.data is not None else {}
    problems = list(settings_problems(doc, file, source.line_of))
    if problems:
        raise SettingsError(problems)
    for key, value in doc.items():
        if key in ("pull", "cgroups"):
            setattr(settings, key, value)  # read as a whole: cgroups/choose.py, intake/pull_worker.py
            continue
        if key == "revoked":
            settings.revoked, settings.revoked_required = value, True
            continue
        pairs = [(FLAT[(key, sub)], item) for sub, item in value.items()] if key in NESTED else [(key, value)]
        for attr, item in pairs:
            setattr(settings, attr, parse_duration(item) if attr in DURATIONS else item)
    return settings


def load_settings_apart(path: Optional[str]) -> Settings:
    """`load_settings` in a forked child, for the agent: PyYAML (about 1 MiB resident) never
    enters the process that runs for months. The child answers the settings or the problems
    as JSON through a pipe. Call it before any thread exists."""
    if path is None and not os.path.exists(DEFAULT_SETTINGS):
        return Settings()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, answer, leave without running the parent's clean-ups
        os.close(read_end)
        try:
            try:
                answer: Dict[str, Any] = {"settings": asdict(load_settings(path))}
            except SettingsError as exc:
                answer = {"problems": exc.problems}
            data = json.dumps(answer).encode()
        except BaseException as exc:  # whatever happens, the parent gets one line
            why = problem_line(path or DEFAULT_SETTINGS, 1, "", f"cannot be read ({exc})")
            data = json.dumps({"problems": [why]}).encode()
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer_in:
        data = answer_in.read()
    os.waitpid(pid, 0)
    try:
        answer = json.loads(data)
    except ValueError:
        why = problem_line(path or DEFAULT_SETTINGS, 1, "", "could not be read; run procguard check --settings")
        raise SettingsError([why]) from None
    if "problems" in answer:
        raise SettingsError(answer["problems"])
    return Settings(**answer["settings"])
