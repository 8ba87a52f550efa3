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

import yaml

from ..signing.admission import HostIdentity, admit, check_terms
from ..signing.errors import Refusal
from ..signing.keys import TrustStore, generate, load_private_key
from ..signing.signature import parse_signature, sign_with, verify
from ..signing.state import atomic_write

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
    problem = _unsignable(config)
    if problem:
        return _fail(f"{args.config}: {problem}; agents would refuse it, so it was not signed")
    sig = sign_with(private, config)
    try:
        with open(sig_path, "rb") as fh:
            unchanged = fh.read() == sig
    except OSError:
        unchanged = False
    if not unchanged:  # leave an identical file alone: Ansible and make see no change
        atomic_write(sig_path, sig, mode=0o644)
    kid = parse_signature(sig, sig_path).key_id
    print(f"{sig_path}: {'unchanged' if unchanged else 'written'} (key id {kid})")
    return 0


def _unsignable(config: bytes) -> Optional[str]:
    """Why a config would be refused by every agent regardless of the signature, if it would."""
    try:
        doc = yaml.safe_load(config)
    except yaml.YAMLError as exc:
        return f"not valid YAML ({' '.join(str(exc).split())})"
    if not isinstance(doc, dict):
        return "not a YAML mapping"
    serial = doc.get("serial")
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
        return "no `serial:` (a non-negative integer that grows with each change)"
    if not doc.get("scope"):
        return "no `scope:` (host names, patterns or @groups it is valid for)"
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
            sig: Optional[bytes] = fh.read()
    except FileNotFoundError:
        sig = None
    except OSError as exc:
        return _fail(f"{sig_path}: cannot read ({exc.strerror})")
    trust = TrustStore.load(args.trusted_keys, args.revoked)
    now = datetime.now(timezone.utc)
    try:
        kid = verify(config, sig, trust, config_path=args.config, sig_path=sig_path)
        try:
            doc = yaml.safe_load(config)
        except yaml.YAMLError as exc:
            return _fail(f"{args.config}: not valid YAML ({' '.join(str(exc).split())})")
        serial, _scope = check_terms(args.config, doc, signed=True, last_serial=None, now=now,
                                    key_id=kid)
        if args.host:  # the same gate the agent uses, for this host
            admit(args.config, config, sig, doc, trust, HostIdentity(args.host, args.host_group),
                  None, now, False, sig_path=sig_path)
    except Refusal as refusal:
        return _fail(refusal.message)
    where = f", {args.host} in scope" if args.host else ""
    print(f"{args.config}: good signature by key {kid}, serial {serial}{where}")
    return 0
