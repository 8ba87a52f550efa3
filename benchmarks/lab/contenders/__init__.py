"""The supervisors compared, each keeping the same services up on the same lab servers."""

from __future__ import annotations

from typing import Dict, Type

from .base import Contender
from .monit import Monit
from .none import NoSupervisor
from .procguard import Procguard
from .supervisord import Supervisord
from .systemd import Systemd

CONTENDERS: Dict[str, Type[Contender]] = {
    "procguard": Procguard,
    "systemd": Systemd,
    "supervisord": Supervisord,
    "monit": Monit,
    "none": NoSupervisor,
}
