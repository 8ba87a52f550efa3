"""Fetch this host's signed config from an HTTPS server (central pull).

The client only transports bytes: it never decides whether a config is good. The engine
passes whatever fetch() returns to admit(), exactly like a file read from disk.

Protocol (works with any static file server, e.g. nginx serving a directory):
- GET URL?host=NAME with header `X-Procguard-Host: NAME` and `If-None-Match` once an ETag
  is known. 304 -> nothing new (no re-verification). 200 -> the config bytes.
- GET the signature from the same URL with ".sig" added to its path (same query, header).
  404 there means "unsigned" (admit() then refuses it unless --allow-unsigned).
- The config is fetched again (conditionally) after the signature: if it changed in
  between, the pair is fetched again, so a publish racing a pull does not look like a
  forged signature.
- TLS: a CA bundle (or the system store), and/or a pinned sha256 of the server's
  certificate (DER). With a pin alone, the pin is the trust: the certificate may be
  self-signed. With both, both must hold. Redirects are not followed.
"""

from __future__ import annotations

import random
import re
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

HOST_HEADER = "X-Procguard-Host"
MAX_BYTES = 4 * 1024 * 1024
USER_AGENT = "procguard-pull/1"


class PullError(Exception):
    """The server could not be asked or did not answer usefully; retry with backoff."""

    def __init__(self, reason: str, *, pin_mismatch: bool = False, seen_sha256: Optional[str] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pin_mismatch = pin_mismatch
        self.seen_sha256 = seen_sha256


@dataclass(frozen=True)
class PullResult:
    """One answer of the config server: a new config and its signature, or not modified."""

    status: str  # "new" or "not_modified"
    config_bytes: Optional[bytes] = None
    sig_bytes: Optional[bytes] = None
    etag: Optional[str] = None


class _PinnedAdapter(HTTPAdapter):
    """Hands urllib3 the certificate fingerprint to assert on every new connection."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


class PullClient:
    """One per agent; fetch() is called from a worker thread, never concurrently."""

    def __init__(
        self,
        url: str,
        host_name: str,
        ca_bundle: Optional[str] = None,
        pinned_sha256: Optional[str] = None,
        timeout: float = 10,
        interval: float = 300,
        *,
        backoff_initial: float = 2.0,
        backoff_max: Optional[float] = None,
        jitter: float = 0.2,
        rng: Optional[random.Random] = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"pull url {url!r} must be an https:// URL")
        self.url = url
        self.host_name = host_name
        self.ca_bundle = ca_bundle
        self.pinned_sha256 = _normalise_pin(pinned_sha256) if pinned_sha256 else None
        self.timeout = timeout
        self.interval = interval
        self.backoff_initial = backoff_initial
        self.backoff_max = (backoff_max if backoff_max is not None
                            else max(interval, backoff_initial))
        self.jitter = jitter
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.failures = 0
        self.etag: Optional[str] = None
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        if self.pinned_sha256:
            self.session.mount("https://", _PinnedAdapter(self.pinned_sha256))

    # URLs -----------------------------------------------------------------
    def config_url(self) -> str:
        return self._with_host(self.url)

    def signature_url(self) -> str:
        parts = urlsplit(self.url)
        return self._with_host(urlunsplit(parts._replace(path=parts.path + ".sig")))

    def _with_host(self, url: str) -> str:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "host"]
        query.append(("host", self.host_name))
        return urlunsplit(parts._replace(query=urlencode(query)))

    # fetching -------------------------------------------------------------
    def fetch(self) -> PullResult:
        """Ask the server; raise PullError on any transport or HTTP failure."""
        for _attempt in range(3):
            status, config, etag = self._get(self.config_url(), self.etag)
            if status == 304:
                return PullResult("not_modified", etag=self.etag)
            if status != 200:
                raise PullError(f"config: HTTP {status} from {self.config_url()}")
            sig_status, sig_body, _ = self._get(self.signature_url(), None)
            sig: Optional[bytes] = sig_body
            if sig_status == 404:
                sig = None
            elif sig_status != 200:
                raise PullError(f"signature: HTTP {sig_status} from {self.signature_url()}")
            if self._unchanged(config, etag):
                self.etag = etag
                return PullResult("new", config, sig, etag)
        raise PullError("config kept changing while it was fetched; will retry")

    def _unchanged(self, config: bytes, etag: Optional[str]) -> bool:
        """True if the config is still what we fetched before its signature."""
        status, again, _ = self._get(self.config_url(), etag)
        return status == 304 if etag else (status == 200 and again == config)

    def forget_etag(self) -> None:
        """Make the next fetch() a full one (after the trust store changed, for example)."""
        self.etag = None

    def _get(self, url: str, etag: Optional[str]) -> Tuple[int, bytes, Optional[str]]:
        headers: Dict[str, str] = {HOST_HEADER: self.host_name}
        if etag:
            headers["If-None-Match"] = etag
        verify: Any = self.ca_bundle if self.ca_bundle else True
        if self.pinned_sha256 and not self.ca_bundle:
            verify = False  # the pin is the trust; urllib3 still asserts it on connect
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # InsecureRequestWarning when pinned only
                resp = self.session.get(
                    url, headers=headers, timeout=self.timeout, verify=verify,
                    allow_redirects=False, stream=True,
                )
                with resp:
                    body = _read_capped(resp) if resp.status_code == 200 else b""
        except requests.exceptions.SSLError as exc:
            text = str(exc)
            if "fingerprint" in text.lower():
                seen = re.search(r'got "?([0-9a-fA-F:]{64,95})', text)
                raise PullError(
                    f"certificate of {urlsplit(url).netloc} does not match pinned_sha256",
                    pin_mismatch=True, seen_sha256=seen.group(1).replace(":", "").lower() if seen else None,
                ) from None
            netloc = urlsplit(url).netloc
            raise PullError(f"TLS error talking to {netloc}: {_cause(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise PullError(f"cannot reach {urlsplit(url).netloc}: {_cause(exc)}") from None
        return resp.status_code, body, resp.headers.get("ETag")

    # timing ---------------------------------------------------------------
    def next_delay(self, failed: bool) -> float:
        """Seconds until the next fetch.

        After a success: the interval, +-jitter so a fleet booted together spreads out.
        After failures: backoff_initial doubling per failure up to backoff_max, +-jitter.
        """
        if not failed:
            self.failures = 0
            base = self.interval
        else:
            self.failures += 1
            base = min(self.backoff_max, self.backoff_initial * 2 ** (self.failures - 1))
        return base * (1 + self.rng.uniform(-self.jitter, self.jitter))


def _read_capped(resp: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in resp.iter_content(65536):
        size += len(chunk)
        if size > MAX_BYTES:
            raise PullError(f"response from {resp.url} is larger than {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _normalise_pin(pin: str) -> str:
    """Accept 'AB:CD:..' or 'abcd..' (64 hex digits); urllib3 wants plain hex."""
    hexpin = pin.replace(":", "").strip().lower()
    if len(hexpin) != 64 or any(c not in "0123456789abcdef" for c in hexpin):
        raise ValueError("pinned_sha256 must be 64 hex digits (sha256 of the certificate DER)")
    return hexpin


def _cause(exc: BaseException) -> str:
    """What went wrong in a few words, not the library's nested repr: the OS error if there
    is one ("Connection refused"), a timeout, or the TLS reason."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    os_error = _os_error_in(exc)
    if os_error is not None:
        return os_error
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text) or re.search(r"\[SSL: [A-Z_]+\] ([^'\")\]]+)", text)
    if found:
        return found.group(1).strip().rstrip(".")
    return _short(text.split(" (Caused by ")[0])


def _os_error_in(exc: BaseException) -> Optional[str]:
    """The first OS error inside the library's wrappers (its args, `reason`, cause and
    context), so a reset reads "Connection reset by peer" like a refusal reads
    "Connection refused"."""
    seen: List[BaseException] = [exc]
    index = 0
    while index < len(seen) and index < 12:
        current = seen[index]
        index += 1
        if isinstance(current, OSError) and current.strerror and type(current).__module__ != "ssl":
            return current.strerror  # (TLS errors keep their own reason, below)
        inner = [a for a in current.args if isinstance(a, BaseException)]
        for more in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(more, BaseException):
                inner.append(more)
        seen.extend(e for e in inner if all(e is not s_ for s_ in seen))
    return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
