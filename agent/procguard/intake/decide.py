"""The one decision: is this document acceptable? Both `procguard check` and the agent ask it.

Order matters:
1. size: a config larger than the bound is not read further;
2. the signature over the raw bytes, before anything parses them (an unsigned YAML bomb
   never reaches the parser of an agent that requires signatures);
3. the YAML (bounded: size, depth, alias expansion), the schema and the semantic checks,
   which include the probe and escalation specs;
4. the file safety of every program the config makes root run, and of every directory
   where root binds a unix socket for `start.listen` (config/programs.py);
5. the terms: serial against the rollback floor, scope for this host, expiry.
The first refusal wins; for problems of the document itself every problem is listed.

It runs in the short-lived checking child (child.py) for the agent and for `check`, so
the time and memory it may take are bounded there, the same for both.
"""

from __future__ import annotations

import pwd
from functools import partial
from datetime import datetime, timezone
from typing import Any, Callable, List, NoReturn, Optional, Tuple

from ..config.loader import problems_in
from ..config.programs import Program, programs, socket_directories
from ..config.yamlsource import MAX_BYTES, Problem, Source, dotted
from ..refusal import BAD_REVOCATION_LIST, INVALID, Refusal
from ..signing.keys import TrustStore
from ..signing.signature import verify
from .filesafety import check_chain, check_program
from .host_warnings import host_warnings
from .terms import HostIdentity, admit_terms
from .verdict import Request, Verdict

Path = Tuple[Any, ...]


def decide(req: Request, now: Optional[datetime] = None) -> Verdict:
    verdict = Verdict()
    try:
        _decide(req, verdict, now or datetime.now(timezone.utc))
    except Refusal as refusal:
        verdict.doc = None
        verdict.refusal = refusal.as_dict()
    return verdict


def _decide(req: Request, verdict: Verdict, now: datetime) -> None:
    trust: Optional[TrustStore] = None
    if req.trusted_dir is not None:
        trust = TrustStore.load(req.trusted_dir, req.revoked or None)
        verdict.trust_problems = list(trust.problems)
        verdict.revoked = sorted(trust.revoked)
        verdict.revoked_present = {kid: trust.files[kid] for kid in sorted(trust.revoked) if kid in trust.files}
        verdict.trusted = len(trust.active_ids())
        if trust.revocation_problems:  # fail closed: a revocation it cannot read might be missing
            raise Refusal(BAD_REVOCATION_LIST,
                          f"{req.path}: refused while the revocation list cannot be read: "
                          f"{trust.revocation_problems[0]}; fix it (one 16-hex-digit key id per line, # comments)",
                          {"config": req.path, "revoked": req.revoked, "problem": trust.revocation_problems[0]})
    if len(req.data) > MAX_BYTES:
        _invalid(verdict, [Problem(req.path, 1, "", f"is larger than {MAX_BYTES // 1024} KiB; split it or trim it")])
    signed = bool(req.sig)
    if trust is not None and (signed or not req.allow_unsigned):
        verdict.key_id = verify(req.data, req.sig, trust, config_path=req.path, sig_path=req.sig_path)
        verdict.signed = True
    try:
        text = req.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = req.data[:exc.start].count(b"\n") + 1
        _invalid(verdict, [Problem(req.path, line, "", "is not UTF-8 text; save it as UTF-8")])
    problems, source = problems_in(text, req.path, req.on_this_host)
    if problems or source is None:
        _invalid(verdict, problems or [Problem(req.path, 1, "", "is empty; write `version: 1` and `watches:`")])
    doc = source.data
    if req.on_this_host:
        for program in programs(doc):
            _check_program(program, source)
        for key, folder, kind in socket_directories(doc):
            _located(partial(check_chain, folder, kind, directory=True), key, source)
        verdict.warnings = host_warnings(doc, source)
    host = HostIdentity(req.host_name, req.host_groups) if req.host_name is not None else None
    admission = admit_terms(req.path, doc, signed=verdict.signed, key_id=verdict.key_id, host=host,
                            last_serial=req.floor, now=now, allow_expired=req.allow_expired)
    verdict.serial = admission.serial
    verdict.doc = doc


def _invalid(verdict: Verdict, problems: List[Problem]) -> NoReturn:
    verdict.problems = [{"file": p.file, "line": p.line, "key": p.key, "message": p.message} for p in problems]
    lines = [str(p) for p in problems]
    raise Refusal(INVALID, "; ".join(lines),
                  {"config": problems[0].file, "reason": lines[0], "problems": len(lines)})


def _check_program(program: Program, source: Source) -> None:
    run_as = None
    if program.user is not None:
        try:
            run_as = pwd.getpwnam(program.user).pw_uid
        except (KeyError, ValueError):
            run_as = None  # the semantic checks already named an unknown user
    _located(lambda: check_program(program.file, program.kind, run_as=run_as), program.key, source)


def _located(check: Callable[[], None], key: Path, source: Source) -> None:
    """Run a file-safety check; its refusal names the config's file, line and key."""
    try:
        check()
    except Refusal as refusal:
        line = source.line_of(key)
        refusal.message = f"{source.file}:{line}: {dotted(key)}: {refusal.message}"
        refusal.fields.update(config=source.file, key=dotted(key))
        raise
