"""Event hooks: run a command, or POST JSON to a URL, when chosen events are logged.

    runner.py   the bounded queue and its worker threads (an Emitter sink)
    adapter.py  a WatchObserver of the engine: hands each config's hooks to the runner

The hooks come from the signed watch config (`hooks:`, config/hook_schema.py).
"""
