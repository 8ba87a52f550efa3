"""Give-up actions (command, haproxy_agent, keepalived, pacemaker) and their undoing;
see docs/escalation.md. The engine uses `EscalationManager` and the schemas."""

from .manager import EscalationManager
from .schema import ACTION_SCHEMA, TOP_LEVEL_SCHEMA

__all__ = ["ACTION_SCHEMA", "TOP_LEVEL_SCHEMA", "EscalationManager"]
