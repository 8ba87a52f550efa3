"""A catalog entry: the stable identity of one kind of event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

# syslog severities (RFC 5424), by name
SEVERITIES = {
    "emerg": 0, "alert": 1, "crit": 2, "err": 3,
    "warning": 4, "notice": 5, "info": 6, "debug": 7,
}


@dataclass(frozen=True)
class Message:
    """One event kind. `id` and `text` never change once released: log watchers match them."""

    id: str
    name: str
    severity: str
    text: str
    fields: Tuple[str, ...]
    explanation: str = ""
    action: str = ""

    def render(self, values: dict) -> str:
        """`PG1002 process died watch=web pid=1234`: fields in catalog order, then extras."""
        parts = [self.id, self.text]
        keys = list(self.fields) + sorted(k for k in values if k not in self.fields)
        for key in keys:
            if key in values and values[key] is not None:
                parts.append(f"{key}={format_value(values[key])}")
        return " ".join(parts)


def format_value(value: object) -> str:
    """Values without spaces stay bare; others are double-quoted so key=value parsing holds."""
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text
