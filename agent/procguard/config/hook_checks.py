"""What the hooks schema cannot express, as (path, message) problems with the fix."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Tuple

from ..durations import parse_duration
from ..events import catalog

Path = Tuple[Any, ...]
Error = Tuple[Path, str]

MAX_TIMEOUT = 300.0
# a hook's own failures never fire hooks: a failing hook would feed itself
OWN_MESSAGES = frozenset(m.id for m in catalog.ALL if m.name in ("hook_failed", "hook_dropped"))


def hook_errors(hooks: Any, watches: Dict[str, int]) -> Iterator[Error]:
    seen: Dict[str, int] = {}
    for index, hook in enumerate(hooks or []):
        here: Path = ("hooks", index)
        name = hook["name"]
        if name in seen:
            yield here + ("name",), f"{name!r} is already the name of hooks[{seen[name]}]; names must be unique"
        seen.setdefault(name, index)
        if ("command" in hook) == ("url" in hook):
            yield here, "needs exactly one of `command:` (run a program) and `url:` (POST the event as JSON)"
        if "events" not in hook and "severity" not in hook:
            yield here, "fires on nothing; add `events: [PG1009, ...]` or `severity: err`"
        for key, other in (("env", "command"), ("headers", "url")):
            if key in hook and other not in hook:
                yield here + (key,), f"only goes with `{other}:`; remove it"
        for e_index, event in enumerate(hook.get("events", [])):
            if event in OWN_MESSAGES:
                yield here + ("events", e_index), f"{event} is a hook's own message; hooks never fire on it"
            elif event not in catalog.BY_ID:
                yield here + ("events", e_index), f"{event} is no message ID; see docs/messages.md"
        for w_index, watch in enumerate(hook.get("watches", [])):
            if watch not in watches:
                yield here + ("watches", w_index), f"names no watch {watch!r}; write the name of a watch of this config"
        if "command" in hook and not hook["command"][0].startswith("/"):
            program = hook["command"][0]
            yield here + ("command", 0), (f"{program!r}: a hook must name its program by absolute path; "
                                          f"write e.g. /usr/bin/{program}")
        if "timeout" in hook and not 0 < parse_duration(hook["timeout"]) <= MAX_TIMEOUT:
            yield here + ("timeout",), f"must be above 0 and at most {MAX_TIMEOUT:g}s"
