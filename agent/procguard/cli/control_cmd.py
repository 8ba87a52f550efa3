"""`procguard status|metrics|pause|resume|restart|reload|signal|reload-service`: talk to the running agent."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Dict, Optional, Tuple

from ..durations import parse_duration
from ..control.client import AgentUnreachable, request, request_read


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--socket", help="control socket (default /run/procguard/control.sock)")
        return p

    p = add("status", "show every watch")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=status)
    p = add("metrics", "print the agent's metrics (Prometheus text)")
    p.set_defaults(func=metrics)
    for name, help_text in (("pause", "stop restarting a watch (planned work)"),
                            ("resume", "restart a paused watch's processes again")):
        p = add(name, help_text)
        who = p.add_mutually_exclusive_group(required=True)
        who.add_argument("watch", nargs="?", help="watch name")
        who.add_argument("--all", action="store_true", help="every watch")
        if name == "pause":
            p.add_argument("--for", dest="duration", help="resume by itself after e.g. 30m, 2h")
        p.set_defaults(func=pause_resume, cmd=name)
    p = add("restart", "stop and start a watch's processes; resets its restart budget")
    p.add_argument("watch")
    p.set_defaults(func=restart)
    p = add("reload", "read the config again; only changed watches are touched")
    p.set_defaults(func=reload)
    p = add("signal", "send a signal to a watch's main processes")
    p.add_argument("watch")
    p.add_argument("signal", help="HUP, USR1, USR2, TERM, ... (with or without SIG)")
    p.set_defaults(func=signal_cmd)
    p = add("reload-service", "reload a watch's service as its `reload:` says (a signal or a command)")
    p.add_argument("watch")
    p.set_defaults(func=reload_service)


def _call(args: argparse.Namespace, message: Dict[str, Any]) -> Dict[str, Any]:
    return request(message, args.socket)


def _ask(args: argparse.Namespace, message: Dict[str, Any],
         send: Callable[..., Dict[str, Any]] = request) -> Tuple[Optional[Dict[str, Any]], int]:
    """(the reply, 0), or (None, the exit code) once the problem is printed."""
    try:
        reply = send(message, args.socket)
    except AgentUnreachable as exc:
        print(f"procguard: {exc}", file=sys.stderr)
        return None, 3
    if not reply.get("ok"):
        print(f"procguard: {reply.get('error', 'refused')}", file=sys.stderr)
        return None, 1
    return reply, 0


def _run(args: argparse.Namespace, message: Dict[str, Any], done: str) -> int:
    reply, code = _ask(args, message)
    if reply is not None:
        print(f"{done}: {', '.join(reply.get('watches') or []) or 'no watches'}")
    return code


def pause_resume(args: argparse.Namespace) -> int:
    message: Dict[str, Any] = {"cmd": args.cmd, "watch": "*" if args.all else args.watch}
    done = "resumed"
    if args.cmd == "pause":
        try:
            message["for"] = parse_duration(args.duration) if args.duration else None
        except ValueError as exc:
            print(f"procguard: --for: {exc}", file=sys.stderr)
            return 2
        done = f"paused for {args.duration}" if args.duration else "paused until resumed"
    return _run(args, message, done)


def restart(args: argparse.Namespace) -> int:
    return _run(args, {"cmd": "restart", "watch": args.watch}, "restarting")


def _say(args: argparse.Namespace, message: Dict[str, Any], what: str, refused: str = "") -> int:
    """Send one command; print `what` filled from the reply, or the refusal (exit 1), or that
    the agent cannot be reached (exit 3)."""
    try:
        reply = _call(args, message)
    except AgentUnreachable as exc:
        print(f"procguard: {exc}", file=sys.stderr)
        return 3
    if not reply.get("ok"):
        print(f"procguard: {refused}{reply.get('error', 'refused')}", file=sys.stderr)
        return 1
    print(what.format_map({"serial": None, "watches": None, **reply}))
    return 0


def signal_cmd(args: argparse.Namespace) -> int:
    return _say(args, {"cmd": "signal", "watch": args.watch, "signal": args.signal},
                "sent SIG{signal} to {watch}: pids {pids}")


def reload_service(args: argparse.Namespace) -> int:
    return _say(args, {"cmd": "reload-service", "watch": args.watch}, "reloaded {watch} ({how})")


def reload(args: argparse.Namespace) -> int:
    return _say(args, {"cmd": "reload"}, "reloaded: serial {serial}, {watches} watches",
                refused="reload refused, the last good config stays: ")


def metrics(args: argparse.Namespace) -> int:
    reply, code = _ask(args, {"cmd": "metrics"}, request_read)
    if reply is not None:
        sys.stdout.write(reply["text"])
    return code


def status(args: argparse.Namespace) -> int:
    try:
        reply = request_read({"cmd": "status"}, args.socket)
    except AgentUnreachable as exc:
        print(f"procguard: {exc}", file=sys.stderr)
        return 3
    reply.pop("ok", None)
    if args.json:
        print(json.dumps(reply, indent=2))
    else:
        print(render_table(reply))
    config = reply["agent"]["config"]
    degraded = config.get("expired") or not config.get("applied_at")
    return 0 if not degraded and all(w["healthy"] or w["state"] in RESTING for w in reply["watches"]) else 1


# planned, not a failure: an operator paused it, or it ended with an exit code meaning "done"
RESTING = ("paused", "exited")


def render_table(reply: Dict[str, Any]) -> str:
    agent = reply["agent"]
    cfg = agent["config"]
    lines = [f"procguard {agent['version']} on {agent['host']}, pid {agent['pid']}, "
             f"config serial {cfg['serial']} ({'signed by ' + cfg['key_id'] if cfg['signed'] else 'unsigned'}), "
             f"detector {agent['detector']}"
             + (f", process tree {agent['process_tree']['kind']}" if agent.get("process_tree") else "")]
    if cfg.get("serial") is None and not cfg.get("applied_at"):
        lines.append("NO CONFIGURATION IN FORCE: nothing is watched")
    if cfg.get("expired"):
        lines.append(f"EXPIRED: the config in force passed its not_after {cfg['not_after']}; "
                     "it is still enforced: publish a new one")
    elif cfg.get("expires_in_s") is not None and cfg["expires_in_s"] < 7 * 86400:
        lines.append(f"expires {cfg['not_after']} (in {cfg['expires_in_s'] / 3600:.1f} h)")
    if agent.get("last_refusal"):
        lines.append(f"LAST CONFIG REFUSED: {agent['last_refusal']['message']}")
    rows = [("WATCH", "STATE", "HEALTH", "INSTANCES", "PIDS", "RESTARTS", "LAST EXIT", "NOTE")]
    details = []
    for w in reply["watches"]:
        for p in w.get("probes") or []:
            last = p.get("last") or {}
            how = f", last {'ok' if last.get('ok') else 'failed'} in {last.get('duration_ms')} ms" if last else ""
            why = f" ({last['reason']})" if last.get("reason") and not last.get("ok") else ""
            details.append(f"  {w['name']}: probe {p['name']} ({p['type']}) {p['state']}{how}{why}")
        for key, limit in (w.get("limits") or {}).items():
            if not limit.get("enforced"):
                details.append(f"  {w['name']}: limit {key} {limit['value']} NOT ENFORCED ({limit.get('reason')})")
        for e in w.get("escalations") or []:
            if e.get("type") != "haproxy_agent_server" and e.get("state") not in (None, "idle"):
                details.append(f"  {w['name']}: escalation {e['action']} {e['state']}")
        inst = w["instances"]
        note = ""
        if inst["current"] > inst["max"]:
            note = f"{inst['current'] - inst['max']} more than max"
        if w.get("paused_until"):
            note = "paused"
        if w.get("stalled"):
            note = f"stalled: {w['stalled']}"
        if any(e.get("state") in ("running", "in_force", "undo_pending") for e in w.get("escalations") or []):
            note = (note + " " if note else "") + "escalated"
        health = "ok" if w["healthy"] else ("-" if w["state"] in RESTING else "FAIL")
        bounds = str(inst["min"]) if inst["min"] == inst["max"] else f"{inst['min']}-{inst['max']}"
        rows.append((w["name"], w["state"], health,
                     f"{inst['current']}/{bounds}", ",".join(map(str, w["pids"])) or "-",
                     str(w["restarts"]), w.get("last_exit") or "-", note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    if details:
        lines.append("")
        lines.extend(details)
    return "\n".join(lines)
