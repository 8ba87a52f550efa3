"""The hand-written exposition against Debian's promtool, and the registry's memory at 500 watches."""

from __future__ import annotations

import gc
import shutil
import subprocess
import tracemalloc

import pytest

from procguard import states
from procguard.metrics import exposition
from procguard.metrics.families import ALL, CAUSES
from procguard.metrics.recorder import Recorder

WATCHES = 500
# The agent's RSS target is 20 MiB at 500 watches (19.5 MiB measured before metrics).
REGISTRY_BUDGET = 512 * 1024


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run scripts/setup-host.sh (installs Debian's prometheus)")
    return path


def busy_recorder(watches: int) -> Recorder:
    """Every family with samples: the agent, `watches` watches with a probe each, a death each."""
    rec = Recorder(clock=lambda: 1_800_000_000.0)
    rec.agent_started("0.1.0", "pidfd")
    rec.agent_resources(18 << 20, 40, 0.0002)
    rec.config_applied(7, "0123456789abcdef", not_after=1_900_000_000.0)
    rec.config_refused("rollback")
    rec.canary(True, 0.004)
    rec.configure({f"w{i:03d}": ["http"] for i in range(watches)})
    for i in range(watches):
        name = f"w{i:03d}"
        rec.state(name, states.ALL[i % len(states.ALL)], healthy=i % 2 == 0)
        rec.instances(name, 1, 1)
        rec.stalled(name, False)
        rec.escalation(name, 0)
        rec.died(name, CAUSES[i % len(CAUSES)], 0.0013)
        rec.restarted(name, CAUSES[i % len(CAUSES)], 0.004)
        rec.gave_up(name)
        rec.probe_checked(name, "http", "ok", 0.002)
    return rec


def test_promtool_accepts_every_family_without_a_lint_remark():
    text = exposition.render(busy_recorder(3).registry.snapshot())
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert names == {f.name for f in ALL}, "every family has samples in this test"
    out = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout + out.stderr == ""


def test_label_values_are_escaped_so_the_parser_reads_them_back():
    rec = Recorder()
    odd = 'say "hi"\\ to\nme'
    rec.configure({"web": [odd]})
    rec.config_refused('code "with" quotes')
    text = exposition.render(rec.registry.snapshot())
    assert 'probe="say \\"hi\\"\\\\ to\\nme"' in text
    out = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_openmetrics_names_families_without_suffixes_and_ends_with_eof():
    text = exposition.render(busy_recorder(1).registry.snapshot(), openmetrics=True)
    assert text.endswith("\n# EOF\n")
    assert "# TYPE procguard_watch_restarts counter\n" in text
    assert 'procguard_watch_restarts_total{watch="w000",cause="crash"} 1\n' in text
    assert "# TYPE procguard_agent info\n" in text
    assert 'procguard_agent_info{version="0.1.0",detector="pidfd"} 1\n' in text
    assert "# TYPE procguard_watch_state gauge\n" in text, "same series name as the text format"


def test_values_are_written_exactly():
    assert [exposition.number(v) for v in (0.0, 3.0, 0.0013, float("inf"), float("nan"), 1e16)] == [
        "0", "3", "0.0013", "+Inf", "NaN", "1e+16"]


def test_output_streams_in_bounded_chunks():
    snap = busy_recorder(WATCHES).registry.snapshot()
    sizes = [len(c) for c in exposition.chunks(exposition.lines(snap))]
    assert len(sizes) > 5, sizes
    assert max(sizes) < exposition.CHUNK + 4096, "a chunk is at most one series block over the mark"


def test_registry_footprint_at_500_watches_fits_the_agents_budget(capsys):
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rec = busy_recorder(WATCHES)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    with capsys.disabled():
        print(f"\nmetrics registry at {WATCHES} watches with one probe each: {used / 1024:.0f} KiB")
    assert rec.registry.keys("watch")
    assert used < REGISTRY_BUDGET
