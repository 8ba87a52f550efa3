"""A signed config's expiry (`not_after`), watched while it is in force.

Operators hear of it ahead: a warning at 7 days, 1 day and 1 hour before (PG6046). At the
instant it passes, the agent does not stop watching: it goes on enforcing the config, in a
degraded state that is hard to miss (PG6047 at crit, repeated every hour, and EXPIRED in
status), because a host whose services run unwatched is worse than one that runs an
outdated, but once signed, config. A new config ends it. The choice is in docs/security.md.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional, Protocol

from .durations import format_duration, iso_utc
from .unit import Timer

WARN_AHEAD = (7 * 86400.0, 86400.0, 3600.0)
REPEAT = 3600.0


class Env(Protocol):
    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer: ...
    def emit(self, name: str, **fields: Any) -> None: ...


def parse_not_after(value: Optional[str]) -> Optional[float]:
    """Epoch seconds of an RFC 3339 `not_after` (already validated at admission), or None."""
    if not value:
        return None
    from datetime import datetime, timezone  # only for a config that expires: datetime costs ~300 KiB

    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class Expiry:
    def __init__(self, env: Env, wall: Callable[[], float] = time.time) -> None:
        self.env = env
        self.wall = wall
        self.not_after: Optional[float] = None
        self.config = ""
        self.serial: Optional[int] = None
        self.expired = False
        self._timer: Optional[Timer] = None

    def track(self, config: str, serial: Optional[int], not_after: Optional[str]) -> None:
        """A config is in force: warn ahead of its expiry, and flag it when it passes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.config, self.serial, self.expired = config, serial, False
        self.not_after = parse_not_after(not_after)
        if self.not_after is None:
            return
        left = self.not_after - self.wall()
        crossed = [ahead for ahead in WARN_AHEAD if left <= ahead]
        if left <= 0:
            self._expire()
            return
        if crossed:
            self._warn(left)  # the nearest threshold already passed: say it once now
        self._arm()

    def status(self) -> Dict[str, Any]:
        if self.not_after is None:
            return {"not_after": None, "expires_in_s": None, "expired": False}
        return {"not_after": _iso(self.not_after), "expires_in_s": round(self.not_after - self.wall(), 1),
                "expired": self.expired}

    def _arm(self) -> None:
        assert self.not_after is not None
        left = self.not_after - self.wall()
        upcoming = [left - ahead for ahead in WARN_AHEAD if left - ahead > 0]
        delay = min(upcoming) if upcoming else left
        self._timer = self.env.call_later(max(0.0, delay), self._due)

    def _due(self) -> None:
        self._timer = None
        assert self.not_after is not None
        left = self.not_after - self.wall()
        if left <= 0:
            self._expire()
            return
        self._warn(left)
        self._arm()

    def _warn(self, left: float) -> None:
        assert self.not_after is not None
        self.env.emit("config_expires_soon", config=self.config, serial=self.serial,
                      not_after=_iso(self.not_after), left=format_duration(round(left)))

    def _expire(self) -> None:
        assert self.not_after is not None
        self.expired = True
        self.env.emit("config_expired_enforced", config=self.config, serial=self.serial,
                      not_after=_iso(self.not_after), since=format_duration(round(self.wall() - self.not_after)))
        self._timer = self.env.call_later(REPEAT, self._expire)


def _iso(when: float) -> str:
    return iso_utc(when)
