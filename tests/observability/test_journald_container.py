"""journald for real: the agent under systemd in a Debian container, its events in the journal.

The test makes its own container (name pgobs-..., network none) from the systemd image of
scripts/containers/image.sh, copies the agent package and the generated journald catalog
in, runs the agent as a transient unit, kills its service, and asks journalctl:
`journalctl MESSAGE_ID=<PG1005's id>` finds the death with its PROCGUARD_* fields,
`journalctl -x` shows the catalog text, the journal holds the event once (Debian's /dev/log
is journald's own socket), and rsyslog, fed by journald, writes it to /var/log/syslog once.
The container is removed at the end. Budget: about 30 s (image built once by
`make containers`, which `make test` runs first).
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from helpers.agent import AGENT_SRC
from helpers.wait import wait_until
from procguard.events.journald_ids import journald_id

REPO = Path(__file__).resolve().parents[2]
IMAGE = "procguard-test/debian:bookworm"
CATALOG = REPO / "roles" / "procguard_syslog" / "files" / "ops" / "procguard.catalog"
RUN_FLAGS = ["--network", "none", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
             "--security-opt", "apparmor=unconfined", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
             "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-e", "container=docker"]
WATCHES = {"version": 1, "watches": [{"name": "web", "start": {"argv": ["/bin/sleep", "4242"], "ready": {"alive_for": 0}}}]}


class Container:
    def __init__(self, name: str) -> None:
        self.name = name

    def sh(self, script: str, stdin: bytes = b"", check: bool = True) -> str:
        done = subprocess.run(["docker", "exec", "-i", self.name, "sh", "-c", script], input=stdin,
                              capture_output=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{script}: exit {done.returncode}: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode(errors="replace")

    def journal(self, *matches: str) -> List[Dict[str, Any]]:
        out = self.sh("journalctl --no-pager -o json " + " ".join(matches), check=False)
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def box() -> Iterator[Container]:
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=60).returncode != 0:
        pytest.fail(f"{IMAGE} is missing: run `make containers` (scripts/containers/image.sh bookworm)")
    name = f"pgobs-journald-{random.randrange(10**6):06d}"
    subprocess.run(["docker", "run", "-d", "--name", name, *RUN_FLAGS, IMAGE, "/lib/systemd/systemd"],
                   check=True, capture_output=True, timeout=120)
    try:
        c = Container(name)
        wait_until(lambda: c.sh("systemctl is-system-running --wait", check=False).strip() in ("running", "degraded"),
                   timeout=60, interval=0.5, what="systemd to boot in the container")
        package = subprocess.run(["tar", "-C", AGENT_SRC, "--exclude=__pycache__", "-c", "procguard"],
                                 capture_output=True, check=True, timeout=60).stdout
        c.sh("mkdir -p /opt/pgobs /etc/pgobs && tar -C /opt/pgobs -x", stdin=package)
        c.sh("cat > /usr/lib/systemd/catalog/procguard.catalog && journalctl --update-catalog", stdin=CATALOG.read_bytes())
        c.sh("cat > /etc/pgobs/watches.yaml", stdin=json.dumps(WATCHES).encode())
        c.sh("systemd-run --unit pgobs-agent -p KillMode=process --setenv PYTHONPATH=/opt/pgobs "
             "/usr/bin/python3 -m procguard.cli.main agent --config /etc/pgobs/watches.yaml --allow-unsigned "
             "--state-dir /var/lib/pgobs --socket /run/pgobs/control.sock --quiet")
        yield c
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)


def test_a_death_is_found_by_its_message_id_with_its_fields_and_explained_by_the_catalog(box):
    started = wait_until(lambda: box.journal(f"MESSAGE_ID={journald_id('PG1004')}", "PROCGUARD_WATCH=web"),
                         timeout=30, what="PG1004 in the journal")[0]
    pid = started["PROCGUARD_PID"]
    box.sh(f"kill -9 {pid}")
    died = wait_until(lambda: box.journal(f"MESSAGE_ID={journald_id('PG1005')}"), timeout=30,
                      what="PG1005 in the journal")
    assert len(died) == 1
    entry = died[0]
    assert {k: entry[k] for k in ("PROCGUARD_ID", "PROCGUARD_WATCH", "PROCGUARD_PID", "PROCGUARD_STATUS", "PRIORITY",
                                  "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "_TRANSPORT")} == \
        {"PROCGUARD_ID": "PG1005", "PROCGUARD_WATCH": "web", "PROCGUARD_PID": pid, "PROCGUARD_STATUS": "signal:KILL",
         "PRIORITY": "4", "SYSLOG_IDENTIFIER": "procguard", "SYSLOG_FACILITY": "3", "_TRANSPORT": "journal"}
    assert entry["MESSAGE"].startswith(f"PG1005 process died watch=web pid={pid} ")
    explained = box.sh(f"journalctl --no-pager -x MESSAGE_ID={journald_id('PG1005')}")
    assert "Subject: PG1005 process died (watch web)" in explained
    assert "A watched process ended." in explained and "What to do:" in explained


def test_the_journal_and_syslog_each_hold_the_event_once(box):
    wait_until(lambda: box.journal(f"MESSAGE_ID={journald_id('PG1005')}"), timeout=30, what="the death logged")
    lines = [e["MESSAGE"] for e in box.journal("SYSLOG_IDENTIFIER=procguard") if e["MESSAGE"].startswith("PG1005 ")]
    assert len(lines) == 1, "one entry: /dev/log is journald's own socket, so nothing goes there twice"
    in_syslog = wait_until(lambda: box.sh("grep -c 'procguard.*PG1005 process died' /var/log/syslog", check=False).strip()
                           not in ("", "0") and box.sh("grep 'PG1005 process died' /var/log/syslog"),
                           timeout=30, what="rsyslog to write the line journald forwarded")
    assert len(in_syslog.splitlines()) == 1
