"""Ed25519 keys (keys.py) and detached signatures over a config's exact bytes (signature.py).

Only the checking child and the key commands import this package: it maps `cryptography`
(about 5 MiB resident), which the long-running agent never loads.
"""
