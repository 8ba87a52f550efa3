"""What the engine asks of a process tree, whichever kind is in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence

from ..config.model import Watch


@dataclass
class LimitState:
    """One configured limit: in force (read back from the cgroup) or why it is not."""

    value: str
    enforced: bool
    via: str = ""          # the file it was read back from
    reason: str = ""       # why it is not enforced

    def as_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"value": self.value, "enforced": self.enforced}
        out.update({"via": self.via} if self.enforced else {"reason": self.reason})
        return out


@dataclass
class Usage:
    """What a watch's tree uses now, as its cgroup counts it; None where the host cannot tell."""

    memory_current: Optional[int] = None   # bytes
    memory_peak: Optional[int] = None
    cpu_usec: Optional[int] = None         # CPU time used, all processes, ever
    tasks: Optional[int] = None            # processes and threads
    oom_kills: Optional[int] = None

    def as_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class TreeInfo:
    """What status says about the tree of one watch."""

    cgroup: Optional[str] = None
    usage: Usage = field(default_factory=Usage)
    limits: Dict[str, LimitState] = field(default_factory=dict)


class ProcessTree(Protocol):
    kind: str                       # "cgroup" or "process-group"
    aside: Callable[[str], Optional[int]]  # a PID in the watch's tree that is not the watch's

    def describe(self) -> str: ...
    def configure(self, watches: Sequence[Watch]) -> Dict[str, Dict[str, LimitState]]: ...
    def place(self, watch: str, pid: int) -> None: ...
    def members(self, watch: str) -> List[int]: ...
    def has_members(self, watch: str, groups: Sequence[int] = ()) -> bool: ...
    def signal(self, watch: str, sig: int, groups: Sequence[int] = ()) -> int: ...
    def kill(self, watch: str, groups: Sequence[int] = ()) -> None: ...
    def info(self, watch: str) -> TreeInfo: ...
    def oom_kills(self, watch: str) -> Optional[int]: ...
    def forget(self, watch: str) -> None: ...
