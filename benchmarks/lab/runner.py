"""One episode: fresh services under one contender, HAProxy (both settings) or keepalived,
traffic, one fault at a fixed second, then everything stopped. Returns the episode's JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from . import metrics
from .context import LabContext
from .contenders.base import Contender, Failover
from .faults import gone_or_running
from .haproxy import FRONT_PORTS, SETTINGS, Backend, HAProxy
from .keepalived import KeepalivedPair
from .plan import AP_PORT, SERVICES, SCENARIO_HOSTS, TIERS
from .registry import REGISTRY_DIR
from .scenarios import Episode
from .services import write_launcher
from .topology import VIP, Topology

SAMPLE_EVERY = 0.05
BASELINE = 3.5
READY_DEADLINE = 40.0


class Sampler(threading.Thread):
    """Timelines on CLOCK_MONOTONIC: HAProxy server states, VIP holder, hung processes."""

    def __init__(self, haproxies: List[HAProxy], pair: Optional[KeepalivedPair]) -> None:
        super().__init__(daemon=True, name="sampler")
        self.haproxies = haproxies
        self.pair = pair
        self.stopping = threading.Event()
        self.haproxy: Dict[str, List[List[Any]]] = {h.setting: [] for h in haproxies}
        self.vip: List[List[Any]] = []
        self.hung: List[int] = []
        self.hang_ended: Optional[float] = None

    def run(self) -> None:
        tick = 0
        while not self.stopping.wait(SAMPLE_EVERY):
            tick += 1
            now = time.monotonic()
            for h in self.haproxies:
                state = h.status()
                series = self.haproxy[h.setting]
                if state and (not series or series[-1][1] != state):
                    series.append([now, state])
            if self.pair is not None and tick % 2 == 0:
                holder = self.pair.holder()
                if not self.vip or self.vip[-1][1] != holder:
                    self.vip.append([now, holder])
            if self.hung and self.hang_ended is None:
                self.hang_ended = gone_or_running(self.hung)


def wait_for(what: str, check: Any, deadline: float) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"lab: timed out after {deadline:g} s waiting for {what}")


def targets_for(episode: Episode) -> List[str]:
    if episode.scenario == "cluster":
        return [f"vip={VIP}:{AP_PORT}"]
    tier = next(iter(TIERS[episode.scenario]))
    return [f"{setting}=127.0.0.1:{FRONT_PORTS[setting][tier]}" for setting in SETTINGS]


def run_episode(lab: LabContext, contender: Contender, episode: Episode, rate: float, seed: int) -> Dict[str, Any]:
    workdir = lab.new_episode(f"{contender.name}--{episode.scenario}-{episode.fault.name}")
    hosts = SCENARIO_HOSTS[episode.scenario]
    services = [SERVICES[h] for h in hosts]
    for s in services:
        write_launcher(s.launcher(workdir), s.args(workdir))
        os.makedirs(os.path.dirname(s.pidfile(workdir)), exist_ok=True)
    pair = KeepalivedPair(lab) if episode.scenario == "cluster" else None
    haproxies: List[HAProxy] = []
    traffic: Optional[subprocess.Popen[bytes]] = None
    result: Dict[str, Any] = {"contender": contender.name, "version": contender.version,
                              "scenario": episode.scenario, "fault": episode.fault.name,
                              "what": episode.fault.what, "window_s": episode.window, "baseline_s": BASELINE,
                              "rate_per_target": rate, "seed": seed, "affected": episode.affected}
    sampler: Optional[Sampler] = None
    try:
        failover = Failover(pair.start()) if pair else None
        contender.start(services, failover)
        for setting in SETTINGS if TIERS[episode.scenario] else []:
            h = HAProxy(setting, workdir, lab.topology.exec_prefix("lb"),
                        os.path.join(REGISTRY_DIR, f"{lab.tag}-{setting}.sock"))
            backends = {tier: [Backend(n, Topology.addr(n)) for n in names]
                        for tier, names in TIERS[episode.scenario].items()}
            lab.popen_pids.add(h.start(backends, contender.agent_check).pid)
            lab.registry.add_pid(h.proc.pid)  # type: ignore[union-attr]
            haproxies.append(h)
        urls = [f"http://{Topology.addr(s.host)}:{s.port}/health" for s in services]
        probe = lab.ns_run("lb", [sys.executable, "-m", "lab.probe", "--deadline", str(READY_DEADLINE), *urls],
                           READY_DEADLINE + 10)
        if probe.returncode != 0:
            diagnose = getattr(contender, "diagnose", None)
            raise RuntimeError(probe.stderr.strip() + (f"; {diagnose()}" if diagnose else ""))
        for h in haproxies:
            wait_for(f"all servers UP in HAProxy ({h.setting})",
                     lambda h=h: (st := h.status()) and all(v == "UP" for v in st.values()), READY_DEADLINE)
        if pair:
            wait_for("the VIP on node1", lambda: pair.holder() == "node1", READY_DEADLINE)
        sampler = Sampler(haproxies, pair)
        sampler.start()
        out = os.path.join(workdir, "traffic.json")
        duration = BASELINE + episode.window
        traffic = lab.spawn("lb", [sys.executable, "-m", "lab.traffic", "--out", out, "--rate", str(rate),
                                   "--duration", str(duration), *targets_for(episode)],
                            os.path.join(workdir, "traffic.log"), cwd=os.path.dirname(os.path.dirname(__file__)))
        wait_for("the load generator to start", lambda: os.path.exists(out + ".t0"), 20)
        with open(out + ".t0") as handle:
            t0 = float(handle.read())
        time.sleep(max(0.0, t0 + BASELINE - time.monotonic()))
        fault_mono = time.monotonic()
        hit = episode.fault.action(lab, episode.fault)
        result["fault_pids"] = hit
        if episode.fault.hang:
            sampler.hung = hit
        traffic.wait(duration + 20)
        sampler.stopping.set()
        sampler.join(2)
        with open(out) as handle:
            records = json.load(handle)
        result.update(analyse(records, t0, fault_mono, episode, sampler, contender))
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if sampler is not None:
            sampler.stopping.set()
        if traffic is not None and traffic.poll() is None:
            traffic.kill()
            traffic.wait(5)
        for h in haproxies:
            h.stop()
        try:
            contender.stop()
        finally:
            if pair:
                pair.stop()
                lab.topology.cable("node1", up=True)
            lab.kill_services()
    return result


def analyse(records: List[Any], t0: float, fault_mono: float, episode: Episode, sampler: Sampler,
            contender: Contender) -> Dict[str, Any]:
    fault_at = fault_mono - t0
    end = BASELINE + episode.window
    out: Dict[str, Any] = {"fault_at_s": round(fault_at, 3), "targets": {}}
    for target in sorted({r[0] for r in records}):
        mine = [r for r in records if r[0] == target]
        figs = metrics.figures(mine, fault_at, end, episode.affected, episode.served_by)
        if target in sampler.haproxy:
            timeline = sampler.haproxy[target]
            figs["haproxy_out_s"] = metrics.first_change(
                timeline, fault_mono, lambda st: any(not st.get(s, "UP").startswith("UP") for s in episode.affected))
            figs["haproxy_timeline"] = [[round(m - fault_mono, 3), {s: st.get(s) for s in episode.affected}]
                                        for m, st in timeline]
        figs["series"] = metrics.buckets(mine, fault_at, end)
        out["targets"][target] = figs
    if sampler.hung:
        out["hang_ended_s"] = None if sampler.hang_ended is None else round(sampler.hang_ended - fault_mono, 3)
    if sampler.vip:
        out["vip_timeline"] = [[round(m - fault_mono, 3), h] for m, h in sampler.vip]
        out["vip_moved_s"] = metrics.first_change(sampler.vip, fault_mono, lambda h: h == "node2")
    return out
