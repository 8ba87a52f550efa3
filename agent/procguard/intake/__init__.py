"""The one way in for configs: read, file safety, the one decision and its checking child,
the last good copy and the rollback floor, and central pull.

decide.py   the one function that says whether a document is acceptable (check and agent)
child.py    runs it in a short-lived child within bounds of time and memory
admitter.py how the agent admits a file or bytes, restores the last good, logs refusals
filesafety.py, terms.py, last_good.py, pull_client.py, pull_worker.py: the parts
"""
