"""procguard: keep business processes up, and say so in syslog."""

__version__ = "0.1.0"
