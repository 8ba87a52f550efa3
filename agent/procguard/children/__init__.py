"""Child processes: the one reaper and registry of owned PIDs (reaper.py), the command
runner that probes and escalation share (commands.py), and wait statuses (status.py)."""
