"""`procguard check FILE`: every problem of a config, one line each, before it lands.

With --trusted-keys it also applies the agent's admission policy (signature, serial
against the state directory, scope for this host, expiry), which is what Ansible's
`validate:` needs to refuse a bad file before it replaces a good one.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from datetime import datetime, timezone
from typing import Optional



def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate a watch config (and its signature)")
    p.add_argument("file", help="the watch config to check")
    p.add_argument("--trusted-keys", help="also verify the signature against these public keys")
    p.add_argument("--revoked", help="revocation list (default /etc/procguard/revoked.txt)")
    p.add_argument("--signature", help="the signature file (default FILE.sig)")
    p.add_argument("--state-dir", help="refuse a serial lower than the one applied here")
    p.add_argument("--host", dest="host_name", help="host name for the scope check (default: this host)")
    p.add_argument("--host-group", action="append", default=[], help="a group this host is in")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing when good")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config.loader import problems_in

    try:
        with open(args.file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        print(f"{args.file}:1: cannot read: {exc.strerror}; check the path", file=sys.stderr)
        return 1
    problems, source = problems_in(data.decode("utf-8", "replace"), args.file)
    if args.trusted_keys:
        refusal = _admission_problem(args, data, source.data if source and not problems else None)
        if refusal:
            print(refusal, file=sys.stderr)
            return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    if not args.quiet:
        watches = len(source.data.get("watches", [])) if source else 0
        signed = " (signature verified)" if args.trusted_keys else ""
        print(f"{args.file}: OK, {watches} watches{signed}")
    return 0


def _admission_problem(args: argparse.Namespace, data: bytes, doc: Optional[dict]) -> Optional[str]:
    from ..signing import HostIdentity, LastGood, Refusal, StateError, TrustStore, admit, verify

    sig_path = args.signature or args.file + ".sig"
    sig: Optional[bytes] = None
    if os.path.exists(sig_path):
        with open(sig_path, "rb") as handle:
            sig = handle.read()
    trust = TrustStore.load(args.trusted_keys, args.revoked or "/etc/procguard/revoked.txt")
    last_serial = None
    if args.state_dir:
        try:
            last_serial = LastGood.load(args.state_dir).last_serial
        except StateError as exc:
            return str(exc)
    host = HostIdentity(args.host_name or socket.gethostname(), args.host_group)
    try:
        if doc is None:
            verify(data, sig, trust, config_path=args.file, sig_path=sig_path)
            return None  # the signature holds; the syntax problems are printed next
        admit(args.file, data, sig, doc, trust, host, last_serial, datetime.now(timezone.utc),
              allow_unsigned=False, sig_path=sig_path)
    except Refusal as refusal:
        return str(refusal)
    return None
