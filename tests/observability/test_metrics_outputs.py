"""The two ways out: atomic textfiles for node_exporter and the bounded loopback /metrics."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request

import pytest

from helpers.wait import wait_until
from procguard.metrics import exposition, textfile
from procguard.metrics.recorder import Recorder
from procguard.loopback import parse_listen
from procguard.metrics.server import MetricsServer


@pytest.fixture
def rec() -> Recorder:
    rec = Recorder()
    rec.agent_started("0.1.0", "pidfd")
    rec.configure({"web": ["http"]})
    return rec


# -- textfile ------------------------------------------------------------------------------
def test_writer_rewrites_a_scope_file_only_when_its_values_changed(rec, tmp_path):
    writer = textfile.TextfileWriter(rec.registry, str(tmp_path))
    writer.write_now()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(textfile.FILES.values())
    watches = tmp_path / textfile.FILES["watch"]
    first = watches.stat().st_ino
    writer.write_now()  # nothing changed for the watches: not rewritten
    assert watches.stat().st_ino == first
    rec.died("web", "crash", 0.002)
    writer.write_now()
    assert watches.stat().st_ino != first
    assert 'procguard_watch_deaths_total{watch="web",cause="crash"} 1' in watches.read_text()
    assert "procguard_agent_info" in (tmp_path / textfile.FILES["agent"]).read_text()


def test_writer_thread_writes_on_a_kick_and_reports_failure_once_then_recovery(rec, tmp_path):
    reports = []
    directory = tmp_path / "textfile"
    writer = textfile.TextfileWriter(rec.registry, str(directory), interval=3600, min_gap=0.05,
                                     on_error=reports.append)
    writer.start()
    try:
        wait_until(lambda: reports, what="a report that the directory is missing")
        assert len(reports) == 1 and "textfile" in reports[0]
        directory.mkdir()
        rec.died("web", "crash", 0.001)
        writer.kick()
        wait_until(lambda: reports[-1:] == [None], what="the recovery report")
        assert 'cause="crash"} 1' in (directory / textfile.FILES["watch"]).read_text()
        rec.died("web", "crash", 0.001)
        writer.kick()
        wait_until(lambda: 'cause="crash"} 2' in (directory / textfile.FILES["watch"]).read_text(),
                   what="the second death in the file")
        assert reports == [reports[0], None]
    finally:
        writer.close()


# -- HTTP ----------------------------------------------------------------------------------
@pytest.fixture
def server(rec):
    srv = MetricsServer(rec.registry, "127.0.0.1:0", max_connections=2, timeout=1.0)
    srv.start()
    yield srv
    srv.close()


def get(srv: MetricsServer, path: str = "/metrics", accept: str = ""):
    req = urllib.request.Request(f"http://127.0.0.1:{srv.port}{path}", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def test_get_metrics_serves_text_or_openmetrics_as_asked(server, rec):
    rec.died("web", "crash", 0.001)
    kind, body = get(server)
    assert kind == exposition.TEXT
    assert 'procguard_watch_deaths_total{watch="web",cause="crash"} 1\n' in body
    kind, body = get(server, accept="application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert kind == exposition.OPENMETRICS and body.endswith("# EOF\n")


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/", 404), ("POST", "/metrics", 405),
                                                        ("GET", "/metrics/../x", 404)])
def test_anything_but_get_metrics_is_refused(server, method, path, status):
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", method=method, data=b"" if method == "POST" else None)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == status


def test_an_oversized_request_head_is_refused(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Filler: " + b"a" * 9000)
        assert s.recv(100).startswith(b"HTTP/1.1 431 ")


def test_silent_clients_are_dropped_at_the_timeout_and_bounded_in_number(server):
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
    try:
        # two are held (max_connections=2), the third is closed at once; the two held ones are
        # closed by the server's 1 s timeout (the client's own 5 s timeout would raise instead)
        assert idle[2].recv(1) == b""
        assert idle[0].recv(1) == b"" and idle[1].recv(1) == b""
        assert get(server)[1]  # and the server still answers afterwards
    finally:
        for s in idle:
            s.close()


def test_a_scrape_never_waits_for_the_loop_and_the_loop_never_waits_for_a_scrape(server, rec):
    """The loop keeps updating while scrapes run in the server's thread."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            rec.died("web", "crash", 0.001)

    t = threading.Thread(target=loop)
    t.start()
    try:
        bodies = [get(server)[1] for _ in range(5)]
    finally:
        stop.set()
        t.join()
    counts = [float(next(line for line in b.splitlines() if 'cause="crash"' in line).rsplit(" ", 1)[1]) for b in bodies]
    assert counts == sorted(counts) and counts[-1] > counts[0]


@pytest.mark.parametrize("listen", ["0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464", "localhost:9464", "127.0.0.1", "127.0.0.1:x"])
def test_only_loopback_addresses_are_accepted(listen):
    with pytest.raises(ValueError, match=r"metrics listen .* use 127\.0\.0\.1:PORT"):
        parse_listen(listen)


def test_ipv6_loopback_serves_too(rec):
    srv = MetricsServer(rec.registry, "[::1]:0")
    try:
        srv.start()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        with urllib.request.urlopen(f"http://[::1]:{srv.port}/metrics", timeout=5) as resp:
            assert b"procguard_agent_info" in resp.read()
    finally:
        srv.close()


def test_loopback_forms_parse():
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("127.1.2.3:9464") == ("127.1.2.3", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)


def test_a_taken_port_is_an_error_for_the_caller(server, rec):
    second = MetricsServer(rec.registry, f"127.0.0.1:{server.port}")
    with pytest.raises(OSError):
        second.start()
    second.close()
