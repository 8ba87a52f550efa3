"""How a config gets in force on this host: read it, decide on it, remember it, say so.

Order matters: file safety first (a world-writable file is never even parsed), then the
one decision (decide.py) in the checking child (child.py). At agent start a refused file
does not leave the host unprotected: the last good config from the state directory is
decided on again (it passes the same checks) and applied instead.

Every refusal is logged here once, with the message its code names, and raised to the
caller as the one `Refusal` type.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Optional, Union

from ..config.model import Config, build_config
from ..events import catalog
from ..events.emitter import Emitter
from ..refusal import CHECK_FAILED, EXPIRED, INVALID, MISSING_FILE, ROLLBACK, UNSAFE_FILE, Refusal
from ..settings import Settings
from .child import decide_in_child
from .filesafety import check_inputs, check_trust
from .floor import FloorError, RollbackFloor
from .last_good import LastGood, StateError
from .verdict import Request, Verdict

MAX_SIGNATURE_BYTES = 4096


@dataclass
class Admitted:
    """A config that passed every check, with the bytes that were checked."""

    config: Config
    verdict: Verdict
    config_bytes: bytes
    sig_bytes: Optional[bytes]


@dataclass
class Job:
    """An admission between its two halves: `request` goes to the checking child, which may
    take seconds; begin and finish run on the loop, quickly."""

    request: Request
    data: bytes
    sig: Optional[bytes]
    source: str
    save: bool
    last: Optional[LastGood]


class Admitter:
    def __init__(self, settings: Settings, emitter: Emitter) -> None:
        self.settings = settings
        self.emitter = emitter
        self._last_trust_report: Any = None
        self.floor = RollbackFloor(settings.state_dir)
        if settings.allow_unsigned:
            emitter.emit("unsigned_mode")

    # ---------------------------------------------------------------- all at once
    def admit_file(self, path: str, initial: bool) -> Admitted:
        """Admit the file at `path`, or, at start, the last good config; else raise Refusal.
        Waits for the checking child: for the agent's start, `check` and tests; a running
        agent uses begin_file/finish and leaves the wait to a thread (engine.py)."""
        try:
            return self.finish(self.begin_file(path), decide_in_child)
        except Refusal:
            if not initial:
                raise
            restored = self._restore_last_good()
            if restored is None:
                raise
            return restored

    def admit_bytes(self, path: str, data: bytes, sig: Optional[bytes], source: str = "file",
                    save: bool = True) -> Admitted:
        return self.finish(self.begin_bytes(path, data, sig, source, save), decide_in_child)

    # ---------------------------------------------------------------- in two halves
    def begin_file(self, path: str) -> Job:
        """File safety and reading: quick, on the loop. Raises Refusal."""
        sig_path = path + ".sig"
        try:
            if not self.settings.allow_unsigned:
                check_inputs(path, sig_path)  # the config and its signature; the keys in begin_bytes
            data = _read(path, MAX_CONFIG_READ, "config")
            sig = _read(sig_path, MAX_SIGNATURE_BYTES, "signature") if os.path.exists(sig_path) else None
        except Refusal as refusal:
            self._refuse(refusal, "file")
        return self.begin_bytes(path, data, sig)

    def begin_bytes(self, path: str, data: bytes, sig: Optional[bytes], source: str = "file",
                    save: bool = True, allow_expired: bool = False) -> Job:
        s = self.settings
        if not s.allow_unsigned and source != "state":
            # whichever way the bytes came: the keys that judge them must be root's alone.
            # (Not for the saved last-good copy at start: what was in force keeps the host
            # protected while the trust store is repaired; nothing new is admitted.)
            try:
                check_trust(s.trusted_keys, s.revoked, revoked_required=s.revoked_required)
            except Refusal as refusal:
                self._refuse(refusal, source)
        last = self._last_good()
        floor = self._floor(path, source, last)
        request = Request(
            path=path, data=data, sig=sig, sig_path=path + ".sig", trusted_dir=s.trusted_keys,
            revoked=s.revoked, host_name=s.host_name, host_groups=list(s.host_groups),
            floor=floor, allow_unsigned=s.allow_unsigned, allow_expired=allow_expired)
        return Job(request, data, sig, source, save, last)

    def finish(self, job: Job, verdict: Union[Verdict, Callable[[Request], Verdict]]) -> Admitted:
        """The child's verdict (or the function that gets it), on the loop: log, remember,
        build the typed config. Raises Refusal."""
        if not isinstance(verdict, Verdict):
            verdict = verdict(job.request)
        path, data, sig, source, save, last = (job.request.path, job.data, job.sig, job.source, job.save, job.last)
        self._report_trust(verdict)
        if verdict.refusal is not None or verdict.doc is None:
            self._refuse(Refusal.from_dict(verdict.refusal or {"code": INVALID, "message": f"{path}: invalid"}),
                         source, verdict)
        config = build_config(path, verdict.doc)
        verdict.doc = None  # the typed Config is what runs; the raw tree would only take memory
        try:
            self.floor.raise_to(verdict.serial)
        except OSError as exc:
            self.emitter.emit("state_unreadable", file=self.floor.path, problem=str(exc))
        if save:
            try:
                (last or LastGood(self.settings.state_dir)).save(data, sig, verdict.serial, verdict.key_id)
            except OSError as exc:
                self.emitter.emit("state_unreadable", file=self.settings.state_dir, problem=str(exc))
        if not verdict.signed:
            self.emitter.emit("unsigned_config_applied", config=path, serial=verdict.serial)
        return Admitted(config, verdict, data, sig)

    def _floor(self, path: str, source: str, last: Optional[LastGood]) -> Optional[int]:
        """The rollback floor; a floor that cannot be read refuses the config (fails closed)."""
        try:
            return self.floor.read(legacy=last.last_serial if last else None)
        except FloorError as exc:
            self.emitter.emit("state_unreadable", file=self.floor.path, problem=str(exc))
            self._refuse(Refusal(ROLLBACK, f"{path}: refused: {exc}", {"config": path, "serial": None,
                                                                       "last_serial": "unreadable"}), source)

    def _report_trust(self, verdict: Verdict) -> None:
        key = (tuple(verdict.trust_problems), tuple(verdict.revoked_present), verdict.trusted)
        if key == self._last_trust_report:
            return  # say it once, not at every reload
        self._last_trust_report = key
        if self.settings.allow_unsigned and not verdict.signed:
            return  # no keys in a local trial is expected
        for problem in verdict.trust_problems:
            self.emitter.emit("trusted_key_problem", problem=problem)
        for key_id, file in verdict.revoked_present.items():
            self.emitter.emit("trusted_key_revoked", key_id=key_id, file=file, revoked=self.settings.revoked)
        if verdict.trusted == 0:
            self.emitter.emit("no_trusted_keys", dir=self.settings.trusted_keys)

    def _refuse(self, refusal: Refusal, source: str, verdict: Optional[Verdict] = None) -> NoReturn:
        """Log the refusal once (with each problem of an invalid document) and raise it."""
        for p in (verdict.problems if verdict else []):
            self.emitter.emit("config_problem", config=p["file"], line=p["line"], key=p["key"] or "-",
                              problem=p["message"])
        fields = dict(refusal.fields)
        if refusal.code not in (UNSAFE_FILE, MISSING_FILE, INVALID, CHECK_FAILED):
            fields["source"] = source
        self.emitter.emit(catalog.for_refusal(refusal.code), **fields)
        raise refusal

    def _last_good(self) -> Optional[LastGood]:
        try:
            return LastGood.load(self.settings.state_dir)
        except StateError as exc:
            self.emitter.emit("state_unreadable", file=self.settings.state_dir, problem=str(exc))
            return None

    def _restore_last_good(self) -> Optional[Admitted]:
        """At start, when the file is refused: what was in force before. An expired copy is
        still enforced (the engine flags it and says so loudly): never leave a host unwatched
        for want of a new signature."""
        last = self._last_good()
        if last is None or last.config_bytes is None:
            return None
        path = self.settings.config
        try:
            admitted = self.admit_bytes(path, last.config_bytes, last.sig_bytes, source="state", save=False)
        except Refusal as refusal:
            if refusal.code != EXPIRED:
                return None
            try:
                job = self.begin_bytes(path, last.config_bytes, last.sig_bytes, source="state", save=False,
                                       allow_expired=True)
                admitted = self.finish(job, decide_in_child)
            except Refusal:
                return None
        self.emitter.emit("last_good_restored", config=self.settings.config,
                          serial=last.serial, key_id=last.key_id, saved_at=last.saved_at)
        return admitted


MAX_CONFIG_READ = 1024 * 1024 + 1  # one byte over the decision's bound, so it can say "too large"


def _read(path: str, limit: int, kind: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        raise Refusal(MISSING_FILE, f"{path}: {kind} does not exist; check the path",
                      {"file": path, "kind": kind}) from None
    except OSError as exc:
        raise Refusal(INVALID, f"{path}:1: cannot read: {exc.strerror}; check the path and permissions",
                      {"config": path, "reason": f"cannot read: {exc.strerror}", "problems": 1}) from None
