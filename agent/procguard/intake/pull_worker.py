"""Central pull, agent side: fetch this host's signed config now and then, offer it, install it.

One daemon thread asks the server (pull_client.py only moves bytes). Everything that
touches agent state happens on the engine loop, through `post`: emitting events, offering
the bytes to the engine (which admits them exactly like a file on disk: a pulled config
gets no favours, then applies them), and writing the admitted pair to the config path, so
that a later `procguard reload` or a restart sees what is in force.

A refused pulled config changes nothing: the admitter has logged the refusal and the last
good config stays. The client remembers the refused file's ETag, so the same bad file is
neither re-verified nor re-logged until the server's file changes.

Built by the composition root (assemble.py) only when `pull.url` is set: `requests` is
then loaded (about 15 MiB), never otherwise.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Dict, Optional, Protocol

from ..durations import iso_utc, parse_duration
from ..fileio import same_content, write_atomically
from ..refusal import Refusal
from .admitter import Admitted
from .pull_client import PullClient, PullError, PullResult

FILE_MODE = 0o644  # what file safety accepts, and what `procguard sign` users install
STOP_JOIN_TIMEOUT = 2.0


Offered = Callable[[Optional[Admitted], Optional[Refusal]], None]


class Offer(Protocol):
    """The engine's one way in for bytes from elsewhere: checked beside the loop, then
    applied; `done` hears (admitted, None) or (None, refusal) on the loop."""

    def __call__(self, path: str, data: bytes, sig: Optional[bytes], source: str, done: Offered) -> None: ...


def _stamp(when: Optional[float]) -> Optional[str]:
    return iso_utc(when) if when is not None else None


def client_from_settings(pull: Dict[str, Any], host_name: str) -> PullClient:
    """A PullClient for the agent settings' `pull:` mapping (checked by settings.py)."""
    ca_bundle = pull.get("ca_bundle")
    pin = pull.get("pinned_sha256")
    return PullClient(str(pull["url"]), host_name, ca_bundle=str(ca_bundle) if ca_bundle else None,
                      pinned_sha256=str(pin) if pin else None,
                      timeout=parse_duration(pull.get("timeout", 10.0)),
                      interval=parse_duration(pull.get("interval", 300.0)))


class PullWorker:
    """Started with the agent when `settings.pull` has a url; `stop()` ends it at once.

    `post` runs a callable on the engine loop; `emit` logs a catalog message; `offer` is
    the engine's way in for bytes (see Offer); `config_path` is where the pair is installed.
    """

    def __init__(self, pull: Dict[str, Any], host_name: str, config_path: str,
                 post: Callable[[Callable[[], None]], None], emit: Callable[..., Any], offer: Offer,
                 client: Optional[PullClient] = None) -> None:
        self.config_path = config_path
        self.post = post
        self.emit = emit
        self.offer = offer
        self.url = str(pull.get("url", ""))
        self.settings_error: Optional[str] = None
        self.client: Optional[PullClient] = client
        if client is None:
            try:
                self.client = client_from_settings(pull, host_name)
            except (ValueError, TypeError) as exc:
                self.settings_error = str(exc)
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop() and refresh(): end the wait early
        self._full_pull = False
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._status: Dict[str, Any] = {
            "url": self.url, "state": "stopped", "failures": 0, "last_attempt": None,
            "last_success": None, "last_result": None, "last_error": None, "refusal_code": None,
            "applied_serial": None, "etag": None, "next_attempt": None, "fetches": 0, "admissions": 0,
        }

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        if self.client is None:
            self._note(state="disabled", last_error=self.settings_error)
            self._post(lambda: self.emit("pull_failed", url=self.url or "-",
                                                reason=f"pull settings: {self.settings_error}",
                                                failures=0, retry_in="never"))
            return
        self._stop.clear()
        self._wake.clear()
        self._note(state="starting")
        self._thread = threading.Thread(target=self._run, name="procguard-pull", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Wake the thread and let it end; a fetch in flight is abandoned (daemon thread)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_JOIN_TIMEOUT)
        self._note(state="stopped", next_attempt=None)

    def reloaded(self) -> None:
        """After a reload, trusted keys may have changed: look at the server again."""
        self.refresh()

    def refresh(self) -> None:
        """Pull in full now, even if the server's file did not change (e.g. after a reload
        that may have changed trusted keys: a config refused before may pass now)."""
        self._full_pull = True  # the worker thread forgets the ETag: no race with a fetch
        self._wake.set()

    def status(self) -> Dict[str, Any]:
        with self._lock:
            return dict(self._status)

    # ------------------------------------------------------------ the thread
    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self._cycle()
            self._note(next_attempt=_stamp(time.time() + delay))
            self._wake.wait(delay)
            self._wake.clear()

    def _cycle(self) -> float:
        """One fetch; returns the seconds to wait before the next one."""
        client = self.client
        assert client is not None
        if self._full_pull:
            self._full_pull = False
            client.forget_etag()
        failures_before = client.failures
        self._note(last_attempt=_stamp(time.time()))
        try:
            result = client.fetch()
        except PullError as exc:
            return self._failed(client, exc.reason, exc.pin_mismatch, exc.seen_sha256)
        except Exception as exc:  # a bug or an odd library error must not end pulling
            return self._failed(client, f"{type(exc).__name__}: {exc}", False)
        delay = client.next_delay(False)
        with self._lock:
            self._status.update(state="ok", failures=0, last_success=_stamp(time.time()),
                                last_error=None, etag=result.etag)
            self._status["fetches"] += 1
        if failures_before:
            self._post(lambda: self.emit("pull_recovered", url=self.url, failures=failures_before))
        if result.status == "not_modified":
            self._note(last_result="not_modified")
            self._post(lambda: self.emit("pull_not_modified", url=self.url, etag=result.etag or "-"))
        else:
            self._post(lambda: self._admit_and_apply(result))
        return delay

    def _failed(self, client: PullClient, reason: str, pin_mismatch: bool, seen: Optional[str] = None) -> float:
        delay = client.next_delay(True)
        failures = client.failures
        self._note(state="failing", failures=failures, last_error=reason,
                   last_result="pin_mismatch" if pin_mismatch else "failed")
        if pin_mismatch:
            self._post(lambda: self.emit("pull_pin_mismatch", url=self.url,
                                         pinned_sha256=client.pinned_sha256 or "-", seen_sha256=seen or "-"))
        else:
            self._post(lambda: self.emit("pull_failed", url=self.url, reason=reason,
                                                failures=failures, retry_in=f"{delay:.1f}s"))
        return delay

    # ------------------------------------------------------------ on the loop
    def _admit_and_apply(self, result: PullResult) -> None:
        if self._stop.is_set():
            return
        config_bytes = result.config_bytes or b""
        self.emit("pull_fetched", url=self.url, etag=result.etag or "-", bytes=len(config_bytes))
        with self._lock:
            self._status["admissions"] += 1
        # named by its URL in every message: that is where the operator fixes or re-signs it
        self.offer(self.url, config_bytes, result.sig_bytes, "pull",
                   lambda admitted, refusal: self._post_guarded(lambda: self._offered(admitted, refusal, result)))

    def _offered(self, admitted: Optional[Admitted], refusal: Optional[Refusal], result: PullResult) -> None:
        if self._stop.is_set():
            return
        path = self.config_path
        config_bytes = result.config_bytes or b""
        if refusal is not None or admitted is None:  # logged already; the config in force stays
            self._note(last_result="refused", refusal_code=refusal.code if refusal else None)
            return
        self._note(last_result="applied", refusal_code=None, applied_serial=admitted.verdict.serial)
        try:
            self._install(path, config_bytes, result.sig_bytes)
        except OSError as exc:
            # in force and saved as last good; only the copy on disk is behind
            reason = f"applied, but cannot write {path}: {exc.strerror or exc}"
            self._note(last_error=reason)
            self.emit("pull_failed", url=self.url, reason=reason, failures=0, retry_in="-")
        self.emit("pull_applied", url=self.url, serial=admitted.verdict.serial,
                  key_id=admitted.verdict.key_id or "-")

    @staticmethod
    def _install(path: str, config_bytes: bytes, sig_bytes: Optional[bytes]) -> None:
        """Put the admitted pair where reload and restart read it (signature first)."""
        sig_path = path + ".sig"
        if sig_bytes is None:
            try:
                os.unlink(sig_path)  # a stale signature would make the pair look forged
            except FileNotFoundError:
                pass
        elif not same_content(sig_path, sig_bytes):
            write_atomically(sig_path, sig_bytes, FILE_MODE)
        if not same_content(path, config_bytes):
            write_atomically(path, config_bytes, FILE_MODE)

    # ------------------------------------------------------------ helpers
    def _post(self, fn: Callable[[], None]) -> None:
        self.post(lambda: self._post_guarded(fn))

    def _post_guarded(self, fn: Callable[[], None]) -> None:
        """Run `fn` now, on the loop; an error is reported as a pull failure, never raised."""
        def guarded() -> None:
            try:
                fn()
            except Exception as exc:  # never take the engine loop down from here
                reason = f"{type(exc).__name__}: {exc}"
                self._note(last_error=reason)
                try:
                    self.emit("pull_failed", url=self.url, reason=reason, failures=0, retry_in="-")
                except Exception:  # noqa: S110 - nothing more can be done on the loop
                    pass
        guarded()

    def _note(self, **fields: Any) -> None:
        with self._lock:
            self._status.update(fields)
