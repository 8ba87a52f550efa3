"""The work behind `procguard keygen`, `sign` and `verify` (parsers in keys_cmd.py).

Every failure is one line on stderr naming the file, the reason and the fix, and exit 1;
usage errors are argparse's exit 2.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from datetime import datetime, timezone
from typing import Optional

from ..fileio import write_atomically
from ..intake.child import decide_in_child
from ..intake.terms import check_terms
from ..intake.verdict import Request
from ..refusal import Refusal
from ..signing.keys import generate, load_private_key
from ..signing.signature import parse_signature, sign_with

DEFAULT_TRUSTED = "/etc/procguard/trusted.d"
DEFAULT_REVOKED = "/etc/procguard/revoked.txt"



def _fail(text: str) -> int:
    print(f"procguard: {text}", file=sys.stderr)
    return 1


def run_keygen(args: argparse.Namespace) -> int:
    try:
        kid = generate(args.out, args.name)
    except FileExistsError as exc:
        return _fail(f"{exc}; choose another --name or --out")
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    name = args.name or kid
    print(f"key id {kid}: private key {os.path.join(args.out, name)}.key (keep it off the "
          f"servers), public key {os.path.join(args.out, name)}.pub (install in trusted.d)")
    return 0


def run_sign(args: argparse.Namespace) -> int:
    sig_path = args.out or f"{args.config}.sig"
    try:
        mode = os.stat(args.key).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return _fail(f"{args.key}: private key is readable by group or others; "
                         f"fix: chmod 600 {args.key}")
        private = load_private_key(args.key)
    except (OSError, ValueError) as exc:
        return _fail(f"{args.key}: cannot use private key ({exc})")
    try:
        with open(args.config, "rb") as fh:
            config = fh.read()
    except OSError as exc:
        return _fail(f"{args.config}: cannot read ({exc.strerror})")
    problem = _unsignable(args.config, config)
    if problem:
        return _fail(f"{problem}; agents would refuse it, so it was not signed")
    sig = sign_with(private, config)
    try:
        with open(sig_path, "rb") as fh:
            unchanged = fh.read() == sig
    except OSError:
        unchanged = False
    if not unchanged:  # leave an identical file alone: Ansible and make see no change
        write_atomically(sig_path, sig, 0o644)
    kid = parse_signature(sig, sig_path).key_id
    print(f"{sig_path}: {'unchanged' if unchanged else 'written'} (key id {kid})")
    return 0


def _unsignable(path: str, config: bytes) -> Optional[str]:
    """Why every agent would refuse this config whatever its signature: the agent's own
    decision on its content, then the terms a signed config must carry (serial, scope)."""
    verdict = decide_in_child(Request(path=path, data=config, allow_unsigned=True, on_this_host=False))
    if verdict.refusal is not None:
        return str(verdict.refusal["message"])
    try:
        check_terms(path, verdict.doc or {}, signed=True, last_serial=None, now=datetime.now(timezone.utc))
    except Refusal as refusal:
        return refusal.message
    return None


def run_verify(args: argparse.Namespace) -> int:
    sig_path = args.signature or f"{args.config}.sig"
    try:
        with open(args.config, "rb") as fh:
            config = fh.read()
    except OSError as exc:
        return _fail(f"{args.config}: cannot read ({exc.strerror})")
    try:
        with open(sig_path, "rb") as fh:
            sig: Optional[bytes] = fh.read(4096)
    except FileNotFoundError:
        sig = None
    except OSError as exc:
        return _fail(f"{sig_path}: cannot read ({exc.strerror})")
    # the agent's own decision, without this machine's files (they are the host's concern)
    verdict = decide_in_child(Request(
        path=args.config, data=config, sig=sig, sig_path=sig_path, trusted_dir=args.trusted_keys,
        revoked=args.revoked, host_name=args.host, host_groups=list(args.host_group), on_this_host=False))
    if verdict.refusal is not None:
        return _fail(str(verdict.refusal["message"]))
    where = f", {args.host} in scope" if args.host else ""
    print(f"{args.config}: good signature by key {verdict.key_id}, serial {verdict.serial}{where}")
    return 0
