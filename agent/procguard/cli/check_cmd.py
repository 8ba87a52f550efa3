"""`procguard check FILE`: the agent's own verdict on a config, before it lands.

It asks the one decision the agent asks (intake/decide.py), in the same bounded child, so
a config the agent would refuse fails here with the same one-line message. With
--trusted-keys it also verifies the signature and applies the admission terms (serial
against the state directory, scope for this host, expiry): what Ansible's `validate:`
needs to refuse a bad file before it replaces a good one.

`procguard check --settings FILE` checks the agent's own settings file the same way.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Optional, Union

from ..intake.child import decide_in_child
from ..intake.filesafety import check_inputs
from ..intake.floor import FloorError, RollbackFloor
from ..intake.last_good import LastGood, StateError
from ..intake.verdict import Request
from ..refusal import INVALID, ROLLBACK, Refusal
from ..settings import SettingsError, load_settings
from .agent_cmd import check_settings_file

MAX_READ = 1024 * 1024 + 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate a watch config (and its signature), or the agent settings")
    p.add_argument("file", nargs="?", help="the watch config to check")
    p.add_argument("--settings", metavar="FILE", help="check this agent settings file instead")
    p.add_argument("--trusted-keys", help="also verify the signature against these public keys")
    p.add_argument("--revoked", help="revocation list (default /etc/procguard/revoked.txt)")
    p.add_argument("--signature", help="the signature file (default FILE.sig)")
    p.add_argument("--state-dir", help="refuse a serial lower than the one applied here")
    p.add_argument("--host", dest="host_name", help="host name for the scope check (default: this host)")
    p.add_argument("--host-group", action="append", default=[], help="a group this host is in")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing when good")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.settings:
        return _check_settings(args.settings, args.quiet)
    if not args.file:
        print("procguard check: give a config FILE, or --settings FILE", file=sys.stderr)
        return 2
    request = _request(args)
    if isinstance(request, Refusal):
        print(request.message, file=sys.stderr)
        return 1
    verdict = decide_in_child(request)
    if verdict.refusal is not None:
        refusal = Refusal.from_dict(verdict.refusal)
        if refusal.code == INVALID and verdict.problems:
            for p in verdict.problems:
                print(f"{p['file']}:{p['line']}: {p['key'] + ': ' if p['key'] else ''}{p['message']}", file=sys.stderr)
        else:
            print(refusal.message, file=sys.stderr)
        return 1
    for w in verdict.warnings:
        print(f"{w['file']}:{w['line']}: warning: {w['key']}: {w['message']}", file=sys.stderr)
    if not args.quiet:
        watches = len((verdict.doc or {}).get("watches", []))
        signed = " (signature verified)" if args.trusted_keys else ""
        print(f"{args.file}: OK, {watches} watches{signed}")
    return 0


def _request(args: argparse.Namespace) -> Union[Request, Refusal]:
    sig_path = args.signature or args.file + ".sig"
    revoked = args.revoked or "/etc/procguard/revoked.txt"
    try:
        if args.trusted_keys:
            check_inputs(args.file, sig_path, args.trusted_keys, revoked, revoked_required=args.revoked is not None)
        with open(args.file, "rb") as handle:
            data = handle.read(MAX_READ)
        sig: Optional[bytes] = None
        if args.trusted_keys and os.path.exists(sig_path):
            with open(sig_path, "rb") as handle:
                sig = handle.read(4096)
    except Refusal as refusal:
        return refusal
    except OSError as exc:
        return Refusal(INVALID, f"{args.file}:1: cannot read: {exc.strerror}; check the path")
    floor = None
    if args.state_dir:
        try:
            legacy = LastGood.load(args.state_dir).last_serial
        except StateError:
            legacy = None
        try:
            floor = RollbackFloor(args.state_dir).read(legacy=legacy)
        except FloorError as exc:
            return Refusal(ROLLBACK, f"{args.file}: refused: {exc}")
    host = args.host_name or (socket.gethostname() if args.trusted_keys else None)
    return Request(path=args.file, data=data, sig=sig, sig_path=sig_path,
                   trusted_dir=args.trusted_keys or None, revoked=revoked if args.trusted_keys else None,
                   host_name=host, host_groups=list(args.host_group), floor=floor,
                   allow_unsigned=not args.trusted_keys)


def _check_settings(path: str, quiet: bool) -> int:
    try:
        load_settings(path)
        check_settings_file(path)
    except SettingsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if not quiet:
        print(f"{path}: OK")
    return 0
