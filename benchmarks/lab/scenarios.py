"""The episodes of a lab run: one fault each, on a fresh start of every service, supervisor
and peer, so no fault inherits another's damage. Same list, order and timings for every
contender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional

from .faults import FAULTS, Fault


@dataclass
class Episode:
    scenario: str             # single, lb, cluster
    fault: Fault
    window: float             # seconds of traffic after the fault
    affected: List[str]       # backends whose answers depend on the faulty service
    served_by: Callable[[str, str], bool]   # (server header, body) -> answered by the faulty service

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.fault.name}"


def _server_is(name: str) -> Callable[[str, str], bool]:
    return lambda server, body: server == name


def _body_names(name: str) -> Callable[[str, str], bool]:
    return lambda server, body: name in body.split()


def episodes(short: bool = False) -> List[Episode]:
    full = [
        Episode("single", FAULTS["kill_web_master"]("solo"), 6, ["solo"], _server_is("solo")),
        Episode("lb", FAULTS["kill_web_worker"]("web1"), 4, ["web1"], _server_is("web1")),
        Episode("lb", FAULTS["kill_web_master"]("web1"), 6, ["web1"], _server_is("web1")),
        Episode("lb", FAULTS["kill_ap_master"]("ap1"), 6, ["web1", "web3"], _body_names("ap1")),
        Episode("lb", FAULTS["hang_ap"]("ap1"), 8, ["web1", "web3"], _body_names("ap1")),
        Episode("lb", FAULTS["bad_binary"]("web1"), 12, ["web1"], _server_is("web1")),
        Episode("cluster", FAULTS["hang_ap"]("node1"), 8, ["node1"], _server_is("node1")),
        Episode("cluster", FAULTS["hang_for_good"]("node1"), 22, ["node1"], _server_is("node1")),
        Episode("cluster", FAULTS["dead_node"]("node1"), 5, ["node1"], _server_is("node1")),
    ]
    if not short:
        return full
    wanted = {"lb/kill_web_worker", "lb/hang_ap", "lb/bad_binary"}
    return [e for e in full if e.key in wanted]


def find(key: str, short: bool = False) -> Optional[Episode]:
    return next((e for e in episodes(short) if e.key == key), None)
