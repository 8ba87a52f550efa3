"""Judge a config in a short-lived child process: parse it, validate it, admit it.

Why a child: the agent runs for months and should stay small. Parsing a large YAML file
leaves several MiB of fragmented heap behind in the process that did it, and verifying a
signature maps all of `cryptography`; neither is needed between reloads. The child also
keeps the parsing of untrusted bytes out of the process that holds every service's pidfd.
It gets the bytes and the settings it needs on stdin and answers one JSON object:
the validated document, or the problems (with lines), or the refusal.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence

CHILD_TIMEOUT = 120.0
SIGNATURE_CODES = ("bad_signature", "unknown_key", "revoked_key", "unsigned", "malformed_signature")


@dataclass
class Judgement:
    doc: Optional[Dict[str, Any]] = None
    problems: List[Dict[str, Any]] = field(default_factory=list)      # file, line, key, message
    refusal: Optional[Dict[str, Any]] = None                          # code, message, fields
    key_id: Optional[str] = None
    serial: Optional[int] = None
    signed: bool = False
    trust_problems: List[str] = field(default_factory=list)
    revoked: List[str] = field(default_factory=list)
    trusted: int = 0


def judge(config_path: str, config_bytes: bytes, sig_bytes: Optional[bytes], trusted_dir: str,
          revoked_path: str, host_name: str, host_groups: Sequence[str], last_serial: Optional[int],
          allow_unsigned: bool) -> Judgement:
    """Run the checks in a child; raises RuntimeError only if the child itself failed."""
    request = {
        "config_path": config_path, "config": base64.b64encode(config_bytes).decode(),
        "sig": base64.b64encode(sig_bytes).decode() if sig_bytes is not None else None,
        "trusted_dir": trusted_dir, "revoked_path": revoked_path, "host_name": host_name,
        "host_groups": list(host_groups), "last_serial": last_serial, "allow_unsigned": allow_unsigned,
    }
    proc = subprocess.run([sys.executable, "-m", "procguard.judge"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
    try:
        return Judgement(**json.loads(proc.stdout))
    except (ValueError, TypeError):
        tail = proc.stderr.strip()[-300:]
        raise RuntimeError(f"the config check failed to run (exit {proc.returncode}): {tail}") from None


def _judge_here(req: Dict[str, Any]) -> Dict[str, Any]:
    from .config.loader import problems_in
    from .signing.admission import HostIdentity, admit
    from .signing.errors import Refusal
    from .signing.keys import TrustStore
    from .signing.signature import verify

    path = req["config_path"]
    data = base64.b64decode(req["config"])
    sig = base64.b64decode(req["sig"]) if req["sig"] is not None else None
    trust = TrustStore.load(req["trusted_dir"], req["revoked_path"] or None)
    out: Dict[str, Any] = {"trust_problems": list(trust.problems), "revoked": sorted(trust.revoked),
                           "trusted": len(trust.active_ids())}
    problems, source = problems_in(data.decode("utf-8", "replace"), path)
    try:
        if problems or source is None:
            if sig is not None or not req["allow_unsigned"]:
                verify(data, sig, trust, config_path=path, sig_path=path + ".sig")  # tampering beats syntax
            out["problems"] = [{"file": p.file, "line": p.line, "key": p.key, "message": p.message} for p in problems]
            return out
        admission = admit(path, data, sig, source.data, trust, HostIdentity(req["host_name"], req["host_groups"]),
                          req["last_serial"], datetime.now(timezone.utc), req["allow_unsigned"], sig_path=path + ".sig")
        if not req["allow_unsigned"]:
            _check_commands(source.data)
    except Refusal as refusal:
        fields = {k: v for k, v in refusal.fields.items() if isinstance(v, (str, int, float, type(None)))}
        out["refusal"] = {"code": refusal.code, "message": refusal.message, "fields": fields}
        return out
    out.update(doc=source.data, key_id=admission.key_id, serial=admission.serial, signed=admission.signed)
    return out


def _check_commands(doc: Dict[str, Any]) -> None:
    """A start command anyone could rewrite would run as root: refuse it like a config."""
    from .signing.filesafety import check_file

    for entry in doc.get("watches", []):
        start = entry.get("start") or {}
        argv = start.get("argv") or []
        if argv and not start.get("shell") and str(argv[0]).startswith("/"):
            check_file(argv[0], f"start command of watch {entry.get('name')}")


def main() -> int:
    request = json.load(sys.stdin)
    json.dump(_judge_here(request), sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
