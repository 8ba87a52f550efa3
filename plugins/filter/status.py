# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""Judge `procguard status --json`: one host's health gate (procguard.fleet.health_problems)
and the fleet summary of playbooks/status.yml (procguard.fleet.fleet_summary).
Documentation: health_problems.yml and fleet_summary.yml beside this file."""

from __future__ import annotations

import json

GAVE_UP = "gave_up"
PAUSED = "paused"


def _parse(text):
    """(status dict, None) or (None, why the answer is not a status)."""
    text = (text or "").strip()
    if not text.startswith("{"):
        return None, "agent did not answer `procguard status --json`" + (f": {text[:300]}" if text else "")
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"unreadable status JSON: {exc}"


def _is_paused(watch):
    """Planned work, not a fault: a paused watch is neither healthy nor a problem."""
    return watch.get("state") == PAUSED or bool(watch.get("paused_until"))


def _watch_problem(watch):
    """Why a watch is a problem, or None when it is healthy or paused."""
    if watch.get("healthy") or _is_paused(watch):
        return None
    inst = watch.get("instances") or {}
    return "watch {name} unhealthy: state={state} instances={cur}/{min}".format(
        name=watch.get("name"), state=watch.get("state"), cur=inst.get("current"), min=inst.get("min"))


def _config(status):
    return (status.get("agent") or {}).get("config") or {}


def health_problems(status_text, serial, require_healthy=True, sha256=None):
    """Problems that keep this host from passing the health gate, as readable strings:
    an empty list means the agent runs `serial` (with content `sha256`, when both sides know
    it) and, if asked, every watch that is not paused is healthy."""
    status, why = _parse(status_text)
    if status is None:
        return [why]
    problems = []
    config = _config(status)
    in_force, expected = config.get("serial"), int(serial)
    if in_force != expected:
        problems.append(f"serial in force is {in_force}, expected {expected}")
        refusal = (status.get("agent") or {}).get("last_refusal")
        if refusal:
            problems.append("agent refused the config: {code}: {message}".format(
                code=refusal.get("code", "?"), message=refusal.get("message", "")))
    elif sha256 and config.get("sha256") and config["sha256"] != sha256:
        problems.append(f"config in force has sha256 {config['sha256']}, the pushed one {sha256}: "
                        "same serial, different content")
    if require_healthy:
        problems.extend(p for p in map(_watch_problem, status.get("watches") or []) if p)
    return problems


def _host_entry(host, res):
    """One host's line in the report, and the reasons it is unhealthy."""
    res = res or {}
    if res.get("unreachable"):
        reason = "host unreachable: " + str(res.get("msg", "")).strip()[:300]
        return {"reachable": False, "reason": reason}, [reason]
    status, why = _parse(res.get("stdout"))
    if status is None:
        reason = str(res.get("stderr") or "").strip()[:300] or why
        return {"reachable": False, "reason": reason}, [reason]
    agent, config = status.get("agent") or {}, _config(status)
    watches = status.get("watches") or []
    problems = [p for p in map(_watch_problem, watches) if p]
    return {
        "reachable": True,
        "serial": config.get("serial"),
        "sha256": config.get("sha256"),
        "version": agent.get("version"),
        "watches": len(watches),
        "unhealthy": [w.get("name") for w in watches if _watch_problem(w)],
        "gave_up": [w.get("name") for w in watches if w.get("state") == GAVE_UP],
        "paused": {w.get("name"): w.get("paused_until") for w in watches if _is_paused(w)},
        "last_refusal": agent.get("last_refusal"),
        "states": {w.get("name"): w.get("state") for w in watches},
    }, problems


def _serials(per_host):
    """Hosts per serial in force."""
    serials = {}
    for host, entry in per_host.items():
        if entry["reachable"]:
            serials.setdefault(str(entry["serial"]), []).append(host)
    return serials


def _content_drift(entry, expected):
    """The drift of one host, or None: it runs the serial the inventory holds now, but not
    the content the inventory renders for it (per host: scopes and host watches differ)."""
    expected = expected or {}
    if not entry["reachable"] or expected.get("uncommitted") or not expected.get("sha256"):
        return None
    if entry["serial"] != expected.get("serial") or not entry.get("sha256") or entry["sha256"] == expected["sha256"]:
        return None
    return {"serial": entry["serial"], "in_force": entry["sha256"], "expected": expected["sha256"]}


def fleet_summary(results, hosts, expected=None):
    """results: the registered `procguard status --json` results, in the order of hosts;
    expected: optionally, per host, what the inventory would push now ({serial, sha256,
    uncommitted}, from the procguard_watches role's fingerprint.yml).
    Returns {"report", "lines", "failed_hosts", "ok"}: the JSON report, a readable summary,
    each unhealthy host with its reasons, and whether the whole fleet is healthy."""
    expected = list(expected or [])
    per_host, failed, content_drift = {}, {}, {}
    for index, (host, res) in enumerate(zip(hosts, results)):
        per_host[host], reasons = _host_entry(host, res)
        drift = _content_drift(per_host[host], expected[index] if index < len(expected) else None)
        if drift:
            content_drift[host] = drift
            reasons.append("content drift: serial {serial} in force with content {got}, the inventory renders {want}".format(
                serial=drift["serial"], got=drift["in_force"][:12], want=drift["expected"][:12]))
        if reasons:
            failed[host] = reasons
    serials = _serials(per_host)
    newest = max((int(s) for s in serials if s.lstrip("-").isdigit()), default=None)
    reachable = {h: e for h, e in per_host.items() if e["reachable"]}
    watch_list = [(h, w, e["states"][w]) for h, e in reachable.items() for w in e["unhealthy"]]
    report = {
        "hosts": len(per_host),
        "agents_answering": len(reachable),
        "watches": sum(e["watches"] for e in reachable.values()),
        "unhealthy": [{"host": h, "watch": w, "state": s} for h, w, s in watch_list],
        "gave_up": [{"host": h, "watch": w} for h, e in reachable.items() for w in e["gave_up"]],
        "paused": [{"host": h, "watch": w, "until": u} for h, e in reachable.items() for w, u in e["paused"].items()],
        "unreachable": [{"host": h, "reason": e["reason"]} for h, e in per_host.items() if not e["reachable"]],
        "serials": {s: sorted(h) for s, h in sorted(serials.items())},
        "newest_serial": newest,
        "serial_drift": {s: sorted(h) for s, h in serials.items() if newest is not None and s != str(newest)},
        "content_drift": content_drift,
        "content_judged": any((e or {}).get("sha256") for e in expected)
                          and not any((e or {}).get("uncommitted") for e in expected),
        "unhealthy_hosts": failed,
        "per_host": per_host,
    }
    return {"report": report, "lines": _lines(report), "failed_hosts": failed, "ok": not failed}


def _listing(entries, fmt):
    return "" if not entries else " (" + ", ".join(fmt.format(**e) for e in entries) + ")"


def _lines(report):
    drift = report["serial_drift"]
    lines = [
        f"hosts: {report['hosts']} ({report['agents_answering']} agents answering)",
        f"watches: {report['watches']}",
        f"unhealthy: {len(report['unhealthy'])}" + _listing(report["unhealthy"], "{host}/{watch}={state}"),
        f"gave up: {len(report['gave_up'])}" + _listing(report["gave_up"], "{host}/{watch}"),
        f"paused: {len(report['paused'])}" + _listing(report["paused"], "{host}/{watch} until {until}"),
        f"config serial: newest {report['newest_serial']}; "
        + ("no drift" if not drift else "drift: " + "; ".join(f"{s} on {', '.join(h)}" for s, h in drift.items())),
        "config content: " + (
            "not judged (no inventory fingerprints, or the inventory has uncommitted changes)"
            if not report["content_judged"] else "as the inventory renders it" if not report["content_drift"]
            else "drift: " + "; ".join(f"{h} (serial {d['serial']})" for h, d in sorted(report["content_drift"].items()))),
    ]
    if report["unreachable"]:
        lines.append("unreachable: " + ", ".join(f"{u['host']} ({u['reason'][:80]})" for u in report["unreachable"]))
    for host, reasons in sorted(report["unhealthy_hosts"].items()):
        lines.append(f"UNHEALTHY {host}: " + "; ".join(reasons))
    return lines


class FilterModule:
    def filters(self):
        return {"health_problems": health_problems, "fleet_summary": fleet_summary}
