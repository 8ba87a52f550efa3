"""Fleet summary for playbooks/status.yml, from each host's `procguard status --json`."""

from __future__ import annotations

import json

GAVE_UP_STATES = {"gave_up", "fatal", "given_up"}


def procguard_fleet_summary(results, hosts):
    """results: the registered command results, in the order of hosts.
    Returns {"report": {...}, "lines": [...]}: the JSON report and a readable summary."""
    per_host = {}
    unreachable, unhealthy, gave_up = [], [], []
    serials = {}
    watches_total = 0
    for host, res in zip(hosts, results):
        res = res or {}
        text = (res.get("stdout") or "").strip()
        try:
            status = json.loads(text) if text.startswith("{") else None
        except ValueError:
            status = None
        if status is None:
            reason = (res.get("stderr") or text or res.get("msg") or "no answer").strip()
            unreachable.append({"host": host, "reason": reason[:300], "rc": res.get("rc")})
            per_host[host] = {"reachable": False, "reason": reason[:300]}
            continue
        agent = status.get("agent") or {}
        config = agent.get("config") or {}
        serial = config.get("serial")
        serials.setdefault(str(serial), []).append(host)
        watches = status.get("watches") or []
        watches_total += len(watches)
        for w in watches:
            entry = {"host": host, "watch": w.get("name"), "state": w.get("state")}
            if not w.get("healthy"):
                unhealthy.append(entry)
            if str(w.get("state")) in GAVE_UP_STATES:
                gave_up.append(entry)
        per_host[host] = {
            "reachable": True,
            "serial": serial,
            "version": agent.get("version"),
            "watches": len(watches),
            "unhealthy": [w.get("name") for w in watches if not w.get("healthy")],
            "last_refusal": agent.get("last_refusal"),
        }
    newest = max((int(s) for s in serials if s not in ("None", "null")), default=None)
    drift = {s: sorted(h) for s, h in serials.items() if newest is None or s != str(newest)}
    report = {
        "hosts": len(hosts),
        "agents_answering": len(hosts) - len(unreachable),
        "watches": watches_total,
        "unhealthy": unhealthy,
        "gave_up": gave_up,
        "unreachable": unreachable,
        "serials": {s: sorted(h) for s, h in sorted(serials.items())},
        "newest_serial": newest,
        "serial_drift": drift,
        "per_host": per_host,
    }
    lines = [
        f"hosts: {len(hosts)} ({report['agents_answering']} agents answering)",
        f"watches: {watches_total}",
        f"unhealthy: {len(unhealthy)}"
        + ("" if not unhealthy else " (" + ", ".join(f"{u['host']}/{u['watch']}={u['state']}" for u in unhealthy) + ")"),
        f"gave up: {len(gave_up)}"
        + ("" if not gave_up else " (" + ", ".join(f"{u['host']}/{u['watch']}" for u in gave_up) + ")"),
        f"config serial: newest {newest}; "
        + ("no drift" if not drift else "drift: " + "; ".join(f"{s} on {', '.join(h)}" for s, h in drift.items())),
    ]
    if unreachable:
        lines.append("unreachable: " + ", ".join(f"{u['host']} ({u['reason'][:80]})" for u in unreachable))
    return {"report": report, "lines": lines}


class FilterModule:
    def filters(self):
        return {"procguard_fleet_summary": procguard_fleet_summary}
