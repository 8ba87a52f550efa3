"""A throwaway systemd container for one test module: built from the project's Debian test
image, network none, named pgcg-* (Molecule's are procguard-*), removed afterwards.

The agent goes in from this worktree's source (docker cp), runs on the image's python3,
PyYAML, cryptography and requests, under a unit made from the packaged one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest

from .wait import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/helpers/ -> repo
PACKAGED_UNIT = os.path.join(REPO, "agent", "procguard", "data", "procguard.service")
HOLDER_UNIT = os.path.join(REPO, "agent", "procguard", "data", "procguard-watches.service")
IMAGE = "procguard-test/debian:{suite}"
DEB_CACHE = "/var/cache/procguard-test/debs"
RUN_ARGS = ["--network", "none", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
            "--security-opt", "apparmor=unconfined", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-e", "container=docker"]


class Container:
    def __init__(self, suite: str) -> None:
        self.suite = suite
        self.name = f"pgcg-{suite}-{os.getpid()}-{random.randrange(1 << 20):x}"

    def start(self) -> Container:
        subprocess.run(["docker", "run", "-d", "--name", self.name, *RUN_ARGS, IMAGE.format(suite=self.suite),
                        "/lib/systemd/systemd"], check=True, capture_output=True, timeout=60)
        wait_until(lambda: self.sh("systemctl is-system-running").stdout.strip() in ("running", "degraded"),
                   60, interval=0.3, what="systemd up in the container")
        return self

    def sh(self, script: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["docker", "exec", self.name, "sh", "-c", script], capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{script!r} exited {done.returncode}: {done.stdout}{done.stderr}")
        return done

    def put(self, text: str, path: str, mode: str = "0644") -> None:
        """Write a file into the container (docker cp cannot write into its tmpfs mounts)."""
        with tempfile.NamedTemporaryFile("w", delete=False) as handle:
            handle.write(text)
        try:
            self.sh(f"mkdir -p {os.path.dirname(path)}", check=True)
            subprocess.run(["docker", "cp", handle.name, f"{self.name}:{path}"], check=True, capture_output=True)
            self.sh(f"chmod {mode} {path}", check=True)
        finally:
            os.unlink(handle.name)

    def install_agent(self) -> None:
        self.sh("mkdir -p /opt/procguard/lib /etc/procguard", check=True)
        subprocess.run(["docker", "cp", os.path.join(REPO, "agent", "procguard"), f"{self.name}:/opt/procguard/lib/"],
                       check=True, capture_output=True, timeout=60)
        self.put(agent_unit(), "/etc/systemd/system/procguard.service")
        with open(HOLDER_UNIT) as handle:
            self.put(handle.read(), "/etc/systemd/system/procguard-watches.service")
        self.sh("systemctl daemon-reload", check=True)

    def status(self) -> Dict[str, Any]:
        """`procguard status --json` in the container; {} while the agent does not answer."""
        done = self.sh(f"{CLI} status --json")
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def ensure_packages(self, packages: List[str]) -> Optional[str]:
        """Install Debian packages the image lacks from .debs fetched on the host (the
        container has no network); None when done, else why not."""
        missing = self.sh("apt-get install -s --no-install-recommends " + " ".join(packages)).stdout
        wanted = [line.split()[1] for line in missing.splitlines() if line.startswith("Inst ")]
        if not wanted:
            return None
        if self.suite != host_suite():
            return f"{', '.join(packages)} not in the {self.suite} image, and this host is not {self.suite}"
        os.makedirs(DEB_CACHE, exist_ok=True)
        got = subprocess.run(["apt-get", "download", *wanted], cwd=DEB_CACHE, capture_output=True, text=True,
                             timeout=300)
        if got.returncode != 0:
            return f"apt-get download {' '.join(wanted)} failed: {got.stderr.strip()[-300:]}"
        debs = [os.path.join(DEB_CACHE, f) for f in os.listdir(DEB_CACHE)
                if f.endswith(".deb") and f.split("_")[0] in wanted]
        self.sh("mkdir -p /var/tmp/debs", check=True)
        for deb in debs:
            subprocess.run(["docker", "cp", deb, f"{self.name}:/var/tmp/debs/"], check=True, capture_output=True)
        self.sh("DEBIAN_FRONTEND=noninteractive dpkg -i /var/tmp/debs/*.deb", check=True, timeout=300)
        return None

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, timeout=60)


CLI = "PYTHONPATH=/opt/procguard/lib python3 -m procguard.cli.main"


@contextlib.contextmanager
def agent_box(config: str, packages: Sequence[str] = (), suite: str = "bookworm") -> Iterator[Container]:
    """A systemd container with the agent's units installed and `config` in place (not yet
    started), and `packages` installed; removed afterwards. Fails the test where it cannot be."""
    why = docker_ready()
    if why:
        pytest.fail(f"container tests need the docker engine and images: {why}")
    box = Container(suite).start()
    try:
        why = box.ensure_packages(list(packages)) if packages else None
        if why:
            pytest.fail(why)
        box.install_agent()
        box.put(config, "/etc/procguard/watches.yaml")
        yield box
    finally:
        box.remove()


def agent_unit() -> str:
    """The packaged unit, run from the copied source, with the directives cgroups need."""
    out = []
    with open(PACKAGED_UNIT) as handle:
        for line in handle.read().splitlines():
            if line.startswith("ExecStart="):
                line = "ExecStart=/usr/bin/python3 -m procguard.cli.main agent --quiet --allow-unsigned"
            elif line.startswith("ExecReload="):
                line = "ExecReload=/usr/bin/python3 -m procguard.cli.main reload"
            out.append(line)
            if line == "[Service]":
                out += ["Environment=PYTHONPATH=/opt/procguard/lib"]
    return "\n".join(out) + "\n"


def host_suite() -> str:
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return ""


def docker_ready() -> Optional[str]:
    if shutil.which("docker") is None:
        return "no docker client"
    done = subprocess.run(["docker", "image", "inspect", IMAGE.format(suite="bookworm")], capture_output=True)
    return None if done.returncode == 0 else "the test image is missing: run `make containers`"
