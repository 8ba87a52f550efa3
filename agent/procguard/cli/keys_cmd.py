"""`procguard keygen`, `sign`, `verify`: make keys, sign configs, check a signature.

The work lives in keys_impl.py, imported only when one of these commands runs: the
agent process shares this parser and must not load `cryptography` just to start.
"""

from __future__ import annotations

import argparse
from typing import Callable

DEFAULT_TRUSTED = "/etc/procguard/trusted.d"
DEFAULT_REVOKED = "/etc/procguard/revoked.txt"


def _lazy(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from . import keys_impl

        return int(getattr(keys_impl, name)(args))
    return run


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keygen", help="make an Ed25519 signing key pair")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="directory for NAME.key and NAME.pub")
    p.add_argument("--name", help="file name without extension (default: the key id)")
    p.set_defaults(func=_lazy("run_keygen"))

    p = sub.add_parser("sign", help="write a detached signature for a config (CONFIG.sig)")
    p.add_argument("--key", required=True, metavar="PRIVATE_KEY", help="NAME.key from keygen")
    p.add_argument("--out", metavar="SIG", help="signature path (default: CONFIG.sig)")
    p.add_argument("config", metavar="CONFIG")
    p.set_defaults(func=_lazy("run_sign"))

    p = sub.add_parser("verify", help="check a config's signature against the trusted keys")
    p.add_argument("--trusted-keys", default=DEFAULT_TRUSTED, metavar="DIR")
    p.add_argument("--revoked", default=DEFAULT_REVOKED, metavar="FILE")
    p.add_argument("--signature", metavar="SIG",
                   help="signature path (default: CONFIG.sig); for Ansible validate: %%s")
    p.add_argument("--host", metavar="NAME", help="also check that NAME is in the scope")
    p.add_argument("--host-group", action="append", default=[], metavar="G",
                   help="a group of --host (repeatable)")
    p.add_argument("config", metavar="CONFIG")
    p.set_defaults(func=_lazy("run_verify"))
