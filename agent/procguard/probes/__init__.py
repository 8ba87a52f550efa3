"""Stall probes: http, tcp, exec, heartbeat_file, proc_state, notify (see docs/probes.md).

manager.py runs them (one worker thread each) and turns results into verdicts; adapter.py
plugs the manager into the engine as a WatchObserver; snapshot.py writes what a stalled
process looked like before it is stopped.
"""
