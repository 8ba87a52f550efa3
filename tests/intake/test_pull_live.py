"""Central pull, agent side: PullWorker against a real HTTPS server on 127.0.0.1.

Two levels:
- PullWorker driven by a small stand-in engine that has the real pieces the worker uses:
  a real Loop (posts run on a loop thread), a real Admitter (file safety, the one decision
  in a child process, LastGood) and a real Emitter. Only applying is a recorder instead of
  the process machinery.
- The real agent with `pull:` in its settings file.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, List, Optional, Sequence

import pytest
from helpers.agent import child_env
from helpers.wait import wait_until
from helpers.pull_server import PKI, ConfigServer
from helpers.signing import HOST, Env, install, signed_args, wait_running, watch_config
from procguard.config.model import Config
from procguard.events.emitter import Emitter
from procguard.intake.admitter import Admitted, Admitter
from procguard.intake.filesafety import check_inputs
from procguard.intake.last_good import LastGood
from procguard.intake.pull_client import PullClient
from procguard.intake.pull_worker import PullWorker
from procguard.intake.queue import CheckQueue
from procguard.loop import Loop
from procguard.refusal import Refusal
from procguard.settings import Settings
from procguard.signing.signature import sign

PATH = "/configs/watches.yaml"
TAG = "31337"


def config_text(serial: int, names: Sequence[str] = ("a", "b")) -> bytes:
    """A config whose start commands exist (the stand-in engine runs nothing)."""
    return watch_config(TAG, serial, names)


# ----------------------------------------------------------------- the stand-in engine
class CountingAdmitter(Admitter):
    """The real admitter; counts admissions (each one verifies, in a child process)."""

    judged = 0

    def begin_bytes(self, *args: Any, **kwargs: Any) -> Any:
        self.judged += 1
        return super().begin_bytes(*args, **kwargs)


class MiniEngine:
    """What PullWorker is given by the composition root: loop.post, emit, and offer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lines: List[str] = []
        self.emitter = Emitter(socket_path="", stderr=None)
        self.emitter.sinks.append(lambda _msg, _fields, line: self.lines.append(line))
        self.gate = CountingAdmitter(settings, self.emitter)
        self.loop = Loop()
        self.checks = CheckQueue(self.loop.post)
        self.applied: List[Config] = []
        self.workers: List[PullWorker] = []
        self.in_force: Optional[Admitted] = None
        self.last_refusal: Optional[dict] = None
        self.loop_thread = threading.current_thread()
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.loop_thread = threading.current_thread()
        while self._running:
            self.loop.wait(cap=0.05)
            self.loop.run_posted()

    def emit(self, name: str, **fields: Any) -> None:
        assert threading.current_thread() is self.loop_thread, "emit only on the loop"
        self.emitter.emit(name, **fields)

    def offer(self, path: str, data: bytes, sig: Optional[bytes], source: str, done: Any) -> None:
        assert threading.current_thread() is self.loop_thread, "offer only on the loop"

        def finish(job: Any, verdict: Any, refusal: Optional[Refusal]) -> Any:
            assert threading.current_thread() is self.loop_thread, "finished only on the loop"
            admitted = None
            if refusal is None:
                try:
                    admitted = self.gate.finish(job, verdict)
                except Refusal as late:
                    refusal = late
            if refusal is not None:
                self.last_refusal = {"code": refusal.code, "message": str(refusal)}
                return None, refusal
            self.applied.append(admitted.config)
            self.in_force, self.last_refusal = admitted, None
            return admitted, None
        self.checks.submit(None, lambda: self.gate.begin_bytes(path, data, sig, source), finish, done)

    def worker(self, client: Optional[PullClient] = None) -> PullWorker:
        s = self.settings
        return PullWorker(s.pull, s.host_name, s.config, self.loop.post, self.emit, self.offer, client)

    def events(self, msg_id: str) -> List[str]:
        return [line for line in list(self.lines) if line.startswith(msg_id + " ")]

    def wait_event(self, msg_id: str, count: int = 1, contains: str = "", timeout: float = 10.0) -> List[str]:
        def found() -> List[str]:
            hits = [e for e in self.events(msg_id) if contains in e]
            return hits if len(hits) >= count else []
        try:
            return wait_until(found, timeout, what=f"{count}x {msg_id} {contains!r}")
        except AssertionError as exc:
            status = [w.status() for w in self.workers]
            raise AssertionError(f"{exc}\nevents: {self.lines}\nworkers: {status}") from None

    def close(self) -> None:
        self._running = False
        self._thread.join(5)
        self.loop.close()


@pytest.fixture(autouse=True)
def _child_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # the admitter's decision runs `python -m procguard.intake.child_main`
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])


@pytest.fixture
def env(tmp_path: Path) -> Env:
    root = tmp_path / "etc"
    root.mkdir(mode=0o755)
    return Env(root)


@pytest.fixture
def rig(tmp_path: Path, env: Env, server: ConfigServer, pki: PKI):
    """(engine, make_worker): the stand-in engine and a factory of started workers."""
    settings = Settings(config=str(env.root / "watches.yaml"), state_dir=str(tmp_path / "state"),
                        trusted_keys=str(env.trusted), revoked=str(env.revoked), host_name=HOST,
                        pull={"url": server.url(PATH), "ca_bundle": str(pki.ca_file), "interval": 0.2,
                              "timeout": 5})
    os.makedirs(settings.state_dir, mode=0o700)
    engine = MiniEngine(settings)
    workers: List[PullWorker] = []

    def make_worker(**client_args: Any) -> PullWorker:
        client = None
        if client_args:
            if "pinned_sha256" not in client_args:
                client_args["ca_bundle"] = str(pki.ca_file)
            client = PullClient(server.url(PATH), HOST, timeout=5, **client_args)
        worker = engine.worker(client)
        workers.append(worker)
        engine.workers.append(worker)
        worker.start()
        return worker

    yield engine, make_worker
    for worker in workers:
        worker.stop()
    engine.close()


def publish(server: ConfigServer, data: bytes, key: Any) -> bytes:
    sig = sign(key.private, data)
    server.publish(data, sig, PATH)
    return sig


# ----------------------------------------------------------------- PullWorker
def test_a_new_signed_config_is_applied_and_installed(rig, env, server):
    engine, make_worker = rig
    key = env.new_key("k1")
    data = config_text(serial=5)
    sig = publish(server, data, key)
    worker = make_worker()

    applied = engine.wait_event("PG6043")[0]
    assert f"serial=5 key_id={key.key_id}" in applied
    assert [c.serial for c in engine.applied] == [5]
    assert engine.in_force is not None and engine.in_force.verdict.key_id == key.key_id
    assert engine.last_refusal is None
    assert engine.events("PG6042") and not engine.events("PG6040")
    # installed where reload and restart read it: same bytes, 0644, and it passes file safety
    config = Path(engine.settings.config)
    assert config.read_bytes() == data and Path(f"{config}.sig").read_bytes() == sig
    assert oct(config.stat().st_mode & 0o777) == "0o644"
    assert oct(Path(f"{config}.sig").stat().st_mode & 0o777) == "0o644"
    check_inputs(config, f"{config}.sig", env.trusted, env.revoked)
    assert not [p for p in os.listdir(config.parent) if p.endswith(".tmp")], "no temporary file left"
    assert LastGood.load(engine.settings.state_dir).last_serial == 5
    status = worker.status()
    assert (status["state"], status["applied_serial"]) == ("ok", 5)
    assert status["last_result"] in ("applied", "not_modified")  # pulls go on every 0.2 s
    # the server saw who asked
    assert {r[2] for r in server.take_requests()} == {HOST}


def test_not_modified_costs_no_re_verify(rig, env, server):
    engine, make_worker = rig
    publish(server, config_text(serial=5), env.new_key("k1"))
    make_worker()
    engine.wait_event("PG6043")
    judged = engine.gate.judged
    assert judged == 1
    server.take_requests()
    engine.wait_event("PG6041", count=len(engine.events("PG6041")) + 3)
    assert engine.gate.judged == judged, "a 304 is not verified again"
    assert len(engine.applied) == 1
    requests = server.take_requests()
    assert requests and all(path == PATH and inm for path, _q, _h, inm in requests), \
        "only conditional GETs of the config: no signature download"


def test_a_tampered_pulled_config_is_refused_once(rig, env, server):
    engine, make_worker = rig
    key = env.new_key("k1")
    good = config_text(serial=5)
    publish(server, good, key)
    worker = make_worker()
    engine.wait_event("PG6043")

    newer = config_text(serial=6, names=("a", "b", "c"))
    sig = sign(key.private, newer)
    server.publish(newer.replace(TAG.encode(), b"31336", 1), sig, PATH)  # one byte
    refusal = engine.wait_event("PG6001")[0]
    assert "source=pull" in refusal and f"config={server.url(PATH)}" in refusal
    assert "publish its .sig beside it" in engine.last_refusal["message"], "the fix is on the server, not here"
    assert engine.last_refusal["code"] == "bad_signature"
    assert [c.serial for c in engine.applied] == [5], "nothing applied"
    assert Path(engine.settings.config).read_bytes() == good, "the file on disk stays the good one"
    judged = engine.gate.judged
    assert judged == 2
    engine.wait_event("PG6041", count=2)
    assert engine.gate.judged == judged and len(engine.events("PG6001")) == 1, \
        "the same bad file is neither re-verified nor re-logged"
    assert worker.status()["refusal_code"] == "bad_signature"


def test_a_replayed_older_config_is_refused(rig, env, server):
    engine, make_worker = rig
    key = env.new_key("k1")
    old = config_text(serial=5)
    old_sig = sign(key.private, old)
    publish(server, config_text(serial=7), key)
    make_worker()
    engine.wait_event("PG6043")
    server.publish(old, old_sig, PATH)  # correctly signed, but older than what is in force
    refusal = engine.wait_event("PG6006")[0]
    assert "serial=5 last_serial=7" in refusal and "source=pull" in refusal
    assert [c.serial for c in engine.applied] == [7]
    assert engine.last_refusal["code"] == "rollback"


def test_server_going_away_is_survived_with_backoff(rig, env, server, pki):
    engine, make_worker = rig
    key = env.new_key("k1")
    publish(server, config_text(serial=5), key)
    worker = make_worker(interval=0.2, backoff_initial=0.1, backoff_max=1.6)
    engine.wait_event("PG6043")
    port = server.port
    server.stop()

    failures = engine.wait_event("PG6040", count=4, timeout=15)
    # the first attempt may meet the server on its way out (reset), the next ones find it gone
    assert any("Connection refused" in line for line in failures), failures
    assert not any("HTTPSConnectionPool" in line or "Error(" in line for line in failures), "a few words, not a repr"
    waits = [float(line.split("retry_in=")[1].split("s")[0]) for line in failures[:4]]
    assert all(b > a for a, b in zip(waits, waits[1:])), f"backoff grows: {waits}"
    assert worker.status()["state"] == "failing" and worker.status()["failures"] >= 4
    assert [c.serial for c in engine.applied] == [5], "the config in force stays"

    back = ConfigServer(pki, port=port)
    try:
        publish(back, config_text(serial=6), key)
        recovered = engine.wait_event("PG6044", timeout=15)[0]
        assert "failures=" in recovered
        engine.wait_event("PG6043", count=2)
        assert [c.serial for c in engine.applied] == [5, 6]
        assert worker.status()["state"] == "ok" and worker.status()["failures"] == 0
    finally:
        back.stop()


def test_a_pin_mismatch_is_alerted_with_the_fingerprint_seen(rig, env, server, pki):
    engine, make_worker = rig
    publish(server, config_text(serial=5), env.new_key("k1"))
    make_worker(pinned_sha256="00" * 32, backoff_initial=5)
    line = engine.wait_event("PG6045")[0]
    assert "pinned_sha256=" + "00" * 32 in line
    assert f"seen_sha256={pki.cert_sha256}" in line, "the operator can compare it with the renewed certificate"
    assert not engine.applied


def test_stop_ends_the_thread_at_once(rig, env, server):
    engine, make_worker = rig
    publish(server, config_text(serial=5), env.new_key("k1"))
    worker = make_worker(interval=300)
    engine.wait_event("PG6043")
    thread = worker._thread
    assert thread is not None and thread.is_alive()
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 1.0
    assert not thread.is_alive() and worker.status()["state"] == "stopped"


def test_refresh_pulls_in_full_at_once(rig, env, server):
    """After a reload (new trusted key, say) a config refused before gets another chance."""
    engine, make_worker = rig
    k1 = env.new_key("k1")
    publish(server, config_text(serial=5), k1)
    worker = make_worker(interval=300)
    engine.wait_event("PG6043")
    k2 = env.new_key("k2", trust=False)
    publish(server, config_text(serial=6), k2)
    worker.refresh()
    engine.wait_event("PG6002")
    env.trust(k2)  # the operator installs the new key, then reloads
    worker.refresh()
    engine.wait_event("PG6043", count=2)
    assert [c.serial for c in engine.applied] == [5, 6]
    assert engine.gate.judged == 3


def test_bad_pull_settings_disable_pulling_loudly(tmp_path, env):
    settings = Settings(config=str(env.root / "watches.yaml"), state_dir=str(tmp_path / "s"),
                        trusted_keys=str(env.trusted), revoked=str(env.revoked), host_name=HOST,
                        pull={"url": "http://127.0.0.1:1/watches.yaml"})
    engine = MiniEngine(settings)
    try:
        worker = engine.worker()
        worker.start()
        line = engine.wait_event("PG6040")[0]
        assert "https://" in line and worker.status()["state"] == "disabled"
        assert worker._thread is None
        worker.stop()
    finally:
        engine.close()


# ----------------------------------------------------------------- the real agent
def pulling_agent(make_agent, rsyslog, tmp_path, server, pki, env):
    """A signed-mode agent whose settings pull from the test server every second."""
    settings = tmp_path / "agent.yaml"
    settings.write_text(f"pull: {{url: '{server.url(PATH)}', ca_bundle: '{pki.ca_file}', interval: 1, timeout: 5}}\n")
    os.chmod(settings, 0o644)
    return make_agent(None, syslog_socket=rsyslog.socket, allow_unsigned=False,
                      extra_args=signed_args(env) + ["--settings", str(settings)])


def test_agent_pulls_applies_refuses_and_survives(make_agent, rsyslog, tag, tmp_path, server, pki, env):
    key = env.new_key("k1")
    agent = pulling_agent(make_agent, rsyslog, tmp_path, server, pki, env)
    first = watch_config(tag, 10)
    install(agent, first, sign(key.private, first))
    server.publish(first, sign(key.private, first), PATH)
    agent.start()
    before = wait_running(agent)

    # a new signed config is applied, and installed on disk
    newer = watch_config(tag, 11, names=("a", "b", "c"))
    newer_sig = publish(server, newer, key)
    rsyslog.wait_for(r"PG6043 .*serial=11")
    now = wait_running(agent, ("a", "b", "c"))
    assert {k: now[k] for k in before} == before
    assert agent.status()["agent"]["config"]["serial"] == 11
    wait_until(lambda: Path(agent.config).read_bytes() == newer, 5, what="pulled config on disk")
    assert Path(agent.config + ".sig").read_bytes() == newer_sig

    # tampered, then replayed: refused, nothing changes
    evil = watch_config(tag, 12, names=("a",))
    server.publish(evil.replace(b'"a"', b'"x"'), sign(key.private, evil), PATH)
    rsyslog.wait_for(r"PG6001 .*source=pull")
    server.publish(first, sign(key.private, first), PATH)
    rsyslog.wait_for(r"PG6006 .*source=pull")
    status = agent.status()
    assert status["agent"]["config"]["serial"] == 11 and status["agent"]["last_refusal"]["code"] == "rollback"
    assert {w["name"]: w["pids"] for w in status["watches"]} == now

    # the server goes away and comes back
    port = server.port
    server.stop()
    rsyslog.wait_for(r"PG6040 ", timeout=15)
    back = ConfigServer(pki, port=port)
    try:
        latest = watch_config(tag, 13, names=("a", "b", "c"))
        publish(back, latest, key)
        rsyslog.wait_for(r"PG6044 ", timeout=15)
        rsyslog.wait_for(r"PG6043 .*serial=13", timeout=15)
        # what was pulled is what reload and a restart find on disk
        assert agent.cli("reload").returncode == 0
        agent.stop(signal.SIGKILL)
        back.publish(b"", None, PATH)  # nothing useful to pull now
        agent.start()
        assert agent.status()["agent"]["config"]["serial"] == 13
        assert wait_running(agent, ("a", "b", "c")) == now
    finally:
        back.stop()


def test_fresh_host_without_a_config_boots_from_the_pull_server(make_agent, rsyslog, tag, tmp_path, server, pki, env):
    """An autoscaled server: no config on disk yet; it gets its watches at boot by pull."""
    key = env.new_key("k1")
    agent = pulling_agent(make_agent, rsyslog, tmp_path, server, pki, env)
    assert not os.path.exists(agent.config)
    config = watch_config(tag, 5)
    publish(server, config, key)

    agent.start()

    rsyslog.wait_for(r"PG6043 .*serial=5")
    wait_running(agent)
    assert agent.status()["agent"]["config"]["serial"] == 5
    wait_until(lambda: os.path.exists(agent.config), 5, what="the pulled config installed on disk")
