"""Give-up actions (command, haproxy_agent, keepalived, pacemaker) and their undoing; see
docs/escalation.md. manager.py runs them; adapter.py plugs it into the engine."""
