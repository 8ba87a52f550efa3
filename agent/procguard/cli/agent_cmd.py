"""`procguard agent`: run the agent in the foreground."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from ..assemble import build_engine
from ..events.emitter import Emitter
from ..intake.filesafety import check_chain
from ..refusal import Refusal
from ..settings import DEFAULT_SETTINGS, SettingsError, load_settings_apart


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("agent", help="run the agent in the foreground")
    p.add_argument("--config", help="watch config (default /etc/procguard/watches.yaml)")
    p.add_argument("--settings", help="agent settings file (default /etc/procguard/agent.yaml)")
    p.add_argument("--state-dir", help="state directory (default /var/lib/procguard)")
    p.add_argument("--socket", help="control socket (default /run/procguard/control.sock)")
    p.add_argument("--trusted-keys", help="directory of trusted public keys")
    p.add_argument("--revoked", help="revocation list")
    p.add_argument("--host-name", help="this host's name for config scope (default: hostname)")
    p.add_argument("--allow-unsigned", action="store_true",
                   help="apply unsigned configs (local trials only; logged loudly)")
    p.add_argument("--syslog-socket", help="syslog socket (default /dev/log; empty: no syslog)")
    p.add_argument("--journald-socket",
                   help="journald's native socket (default /run/systemd/journal/socket; empty: never)")
    p.add_argument("--metrics-textfile-dir",
                   help="folder for node_exporter's textfile collector (empty: none; see docs/observability.md)")
    p.add_argument("--quiet", action="store_true", help="no events on stderr")
    p.add_argument("--cgroups", choices=("auto", "off"), help="a cgroup per watch where possible (default), or "
                   "process groups only (settings: cgroups.mode)")
    p.add_argument("--cgroup-path", help="cgroup of the agent's watches, below its own (settings: cgroups.path)")
    p.add_argument("--monotonic-stamps", action="store_true",
                   help="stamp stderr events with CLOCK_MONOTONIC seconds (for benchmarks/)")
    p.set_defaults(func=run)


def check_settings_file(path: Optional[str]) -> None:
    """The settings say where the keys, the revocation list and the state are: whoever can
    write them chooses what root trusts. So the file and its directories must be root's."""
    file = path or DEFAULT_SETTINGS
    if not os.path.exists(file):
        return
    try:
        check_chain(file, "agent settings")
    except Refusal as refusal:
        raise SettingsError([refusal.message]) from None


def stderr_is_journal() -> bool:
    """Under systemd, stderr goes to the journal, which already forwards to syslog: events
    written to both would appear twice. systemd says so through JOURNAL_STREAM=dev:inode."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings_apart(args.settings)
        check_settings_file(args.settings)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"procguard: {problem}", file=sys.stderr)
        return 2
    for flag, attr in (("config", "config"), ("state_dir", "state_dir"), ("socket", "socket"),
                       ("trusted_keys", "trusted_keys"), ("revoked", "revoked"),
                       ("host_name", "host_name"), ("syslog_socket", "syslog_socket"),
                       ("journald_socket", "journald_socket"), ("metrics_textfile_dir", "metrics_textfile_dir")):
        value = getattr(args, flag)
        if value is not None:
            setattr(settings, attr, value)
    settings.revoked_required = settings.revoked_required or args.revoked is not None
    settings.allow_unsigned = settings.allow_unsigned or args.allow_unsigned
    if args.cgroups is not None:
        settings.cgroups = {**settings.cgroups, "mode": args.cgroups}
    if args.cgroup_path is not None:
        settings.cgroups = {**settings.cgroups, "path": args.cgroup_path}
    settings.absolute()
    quiet = args.quiet or (stderr_is_journal() and bool(settings.syslog_socket or settings.journald_socket))
    try:
        emitter = Emitter(settings.syslog_facility, settings.syslog_socket,
                          stderr=None if quiet else sys.stderr, monotonic_stamps=args.monotonic_stamps,
                          journal_socket=settings.journald_socket)
    except ValueError as exc:
        print(f"procguard: settings: syslog.facility: {exc}", file=sys.stderr)
        return 2
    return build_engine(settings, emitter).run()
