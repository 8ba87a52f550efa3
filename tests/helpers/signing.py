"""Helpers for the signing tests: real keys, real files, a real trust store, and signed-mode
configs installed for a real agent."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from helpers.agent import Agent, config_yaml
from procguard.signing.keys import TrustStore, generate
from procguard.signing.signature import sign

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=timezone.utc)


@dataclass
class Key:
    key_id: str
    private: Path
    public: Path


def config_text(serial: Optional[int] = 1, scope: Optional[Sequence[str]] = ("web01",),
                not_after: Optional[str] = None, note: str = "") -> bytes:
    """A small watch config; `note` varies the bytes without changing meaning."""
    lines: List[str] = ["version: 1"]
    if serial is not None:
        lines.append(f"serial: {serial}")
    if scope is not None:
        lines.append("scope: [" + ", ".join(f'"{s}"' for s in scope) + "]")
    if not_after is not None:
        lines.append(f'not_after: "{not_after}"')
    if note:
        lines.append(f"# {note}")
    lines += [
        "watches:",
        "  - name: web",
        "    match: {comm: nginx}",
        "    start: {argv: [/usr/sbin/nginx, -g, 'daemon off;']}",
    ]
    return ("\n".join(lines) + "\n").encode()


class Env:
    """A scratch /etc/procguard: keys dir, trusted.d, revoked.txt."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys = root / "keys"
        self.trusted = root / "trusted.d"
        self.revoked = root / "revoked.txt"
        self.trusted.mkdir(mode=0o755)
        os.chmod(self.trusted, 0o755)
        self.revoked.write_text("# key ids revoked, one per line\n")  # as the agent role installs it
        os.chmod(self.revoked, 0o644)

    def new_key(self, name: str, trust: bool = True) -> Key:
        kid = generate(self.keys, name)
        key = Key(kid, self.keys / f"{name}.key", self.keys / f"{name}.pub")
        if trust:
            self.trust(key)
        return key

    def trust(self, key: Key) -> None:
        dest = self.trusted / key.public.name
        dest.write_bytes(key.public.read_bytes())
        os.chmod(dest, 0o644)

    def revoke(self, key: Key, comment: str = "") -> None:
        with open(self.revoked, "a") as fh:
            fh.write(f"{key.key_id}  # {comment or 'revoked in test'}\n")

    def store(self) -> TrustStore:
        return TrustStore.load(self.trusted, self.revoked)

    def write_config(self, data: bytes, key: Optional[Key] = None,
                     name: str = "watches.yaml") -> Path:
        path = self.root / name
        path.write_bytes(data)
        os.chmod(path, 0o644)
        if key is not None:
            sig = Path(f"{path}.sig")
            sig.write_bytes(sign(key.private, data))
            os.chmod(sig, 0o644)
        return path


# ---------------------------------------------------------------- signed configs for a real agent
HOST = "web01"


def watch_config(tag: str, serial: int, names: Sequence[str] = ("a", "b"),
                 scope: Sequence[str] = (HOST,), not_after: Optional[str] = None) -> bytes:
    """A signed-mode config: one `sleep TAG<n>` service per name."""
    watches = [{"name": n, "start": {"argv": ["/bin/sleep", f"{tag}{i + 1}"], "ready": {"alive_for": 0}}}
               for i, n in enumerate(names)]
    top: Dict[str, Any] = {"serial": serial, "scope": list(scope)}
    if not_after is not None:
        top["not_after"] = not_after
    return config_yaml(watches, **top).encode()


def install(agent: Agent, data: bytes, sig: Optional[bytes]) -> None:
    """Put a config and its signature where the agent reads them, as Ansible would (0644)."""
    for path, content in ((agent.config + ".sig", sig), (agent.config, data)):
        if content is None:
            if os.path.exists(path):
                os.unlink(path)
            continue
        with open(path, "wb") as handle:
            handle.write(content)
        os.chmod(path, 0o644)


def signed_args(env: Env, host: str = HOST) -> List[str]:
    return ["--trusted-keys", str(env.trusted), "--revoked", str(env.revoked), "--host-name", host]


def pids_of(agent: Agent) -> Dict[str, List[int]]:
    return {w["name"]: w["pids"] for w in agent.status()["watches"]}


def wait_running(agent: Agent, names: Sequence[str] = ("a", "b")) -> Dict[str, List[int]]:
    for name in names:
        agent.wait_watch(name, lambda w: w["state"] == "running" and len(w["pids"]) == 1,
                         what=f"{name} running")
    return pids_of(agent)
