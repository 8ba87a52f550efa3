"""Admit a config in a short-lived child process.

Why: the agent runs for months and should stay small; `cryptography` adds about 5 MiB of
resident memory that it needs only for the moment of a (re)load. A child also keeps the
parsing of untrusted signature bytes out of the process that holds every service's pidfd.
The child speaks JSON on stdin/stdout and is given nothing but the bytes to judge.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence

from .errors import Refusal

CHILD_TIMEOUT = 60.0


@dataclass(frozen=True)
class Verdict:
    key_id: Optional[str]
    serial: Optional[int]
    signed: bool
    trust_problems: List[str]
    revoked: List[str]
    trusted: int


def admit_isolated(config_path: str, config_bytes: bytes, sig_bytes: Optional[bytes], doc: Dict[str, Any],
                   trusted_dir: str, revoked_path: str, host_name: str, host_groups: Sequence[str],
                   last_serial: Optional[int], allow_unsigned: bool, sig_path: Optional[str]) -> Verdict:
    """Run admit() in a child; returns its Verdict or raises the Refusal it gave."""
    request = {
        "config_path": config_path, "config": base64.b64encode(config_bytes).decode(),
        "sig": base64.b64encode(sig_bytes).decode() if sig_bytes is not None else None,
        "doc": doc, "trusted_dir": trusted_dir, "revoked_path": revoked_path, "host_name": host_name,
        "host_groups": list(host_groups), "last_serial": last_serial, "allow_unsigned": allow_unsigned,
        "sig_path": sig_path,
    }
    proc = subprocess.run([sys.executable, "-m", "procguard.signing.isolated"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
    try:
        reply = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError(f"signature check failed to run (exit {proc.returncode}): {proc.stderr.strip()[-300:]}") from None
    if not reply["ok"]:
        raise Refusal(reply["code"], reply["message"], reply.get("fields"))
    return Verdict(reply["key_id"], reply["serial"], reply["signed"], reply["trust_problems"],
                   reply["revoked"], reply["trusted"])


def _child() -> int:
    from .admission import HostIdentity, admit
    from .keys import TrustStore

    req = json.load(sys.stdin)
    trust = TrustStore.load(req["trusted_dir"], req["revoked_path"] or None)
    sig = base64.b64decode(req["sig"]) if req["sig"] is not None else None
    try:
        admission = admit(req["config_path"], base64.b64decode(req["config"]), sig, req["doc"], trust,
                          HostIdentity(req["host_name"], req["host_groups"]), req["last_serial"],
                          datetime.now(timezone.utc), req["allow_unsigned"], sig_path=req["sig_path"])
    except Refusal as refusal:
        json.dump({"ok": False, "code": refusal.code, "message": refusal.message,
                   "fields": {k: v for k, v in refusal.fields.items() if isinstance(v, (str, int, float, type(None)))}},
                  sys.stdout)
        return 0
    json.dump({"ok": True, "key_id": admission.key_id, "serial": admission.serial, "signed": admission.signed,
               "trust_problems": list(trust.problems), "revoked": sorted(trust.revoked),
               "trusted": len(trust.active_ids())}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(_child())
