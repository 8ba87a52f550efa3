"""Hypothesis strategies for hostile input: watch configs, YAML text, control requests,
revocation lists and durations; and the budget of examples each suite runs.

The budget is one number per profile (PROCGUARD_PROFILE=ci, the default, or soak), split
between the fuzz tests by weight, so CI and `make soak` run the same tests at two sizes.
Every example a test runs is counted (`count()`), and the total lands in
.test-results/reliability-fuzz.json for the closing summary of `make test`.
"""

from __future__ import annotations

import json
import os
import string
import threading
from typing import Any, Dict, List, Tuple

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .agent import REPO
from .profile import PROFILE, size

# Hypothesis profiles: CI repeats the same examples run after run (a failure there is a
# failure of the change under test); the soak explores, and prints how to replay a failure.
# No deadline of Hypothesis's own: each property checks a generous bound itself.
_COMMON = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("soak", derandomize=False, print_blob=True, **_COMMON)
TOTAL = size(ci=6_000, soak=100_000)  # examples in all, across the fuzz tests
RESULTS = os.path.join(REPO, ".test-results", "reliability-fuzz.json")

# a test's share of TOTAL: in-process tests are cheap, the real CLI and agent less so
WEIGHTS = {
    "config_decide": 0.25,
    "yaml_text": 0.12,
    "check_cli": 0.005,
    "protocol_decode": 0.12,
    "commands": 0.08,
    "agent_socket": 0.05,
    "revoked": 0.12,
    "durations": 0.17,
}

_lock = threading.Lock()
_counts: Dict[str, int] = {}


def examples(name: str) -> int:
    """This test's share of TOTAL (the weights are relative: the shares add up to TOTAL)."""
    return max(10, round(TOTAL * WEIGHTS[name] / sum(WEIGHTS.values())))


def budget(name: str) -> settings:
    """Settings for one fuzz test: the profile, with this test's share of its examples."""
    return settings(settings.get_profile(PROFILE), max_examples=examples(name))


def count(name: str) -> None:
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1


def write_counts() -> None:
    """This run's counts, for the closing summary (each pytest run writes its own)."""
    if not _counts:
        return
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump({"profile": PROFILE, "examples": sum(_counts.values()), "per_test": dict(sorted(_counts.items()))},
                  handle, indent=1)
        handle.write("\n")


# ---------------------------------------------------------------- nasty values
CONTROL = "".join(chr(c) for c in range(0, 32) if chr(c) not in "\n") + "\x7f\x85\u2028\u2029\ufeff\ufffe"
NASTY_TEXT = st.sampled_from([
    "", " ", "\0", "a\0b", "\n", "\r\n", "\t", "\ufeff", "\x1b[31m", "é", "\udcff"[:0] + "ö",
    "9" * 5000, "-" * 300, "{{", "%s%n", "../../etc/shadow", "/bin/true", "/bin/sh", "/", "//",
    "/dev/null", "/proc/self/exe", "/tmp", "*", "@web", "root", "nobody", "1e400", "NaN", ".inf",
    "10s", "250ms", "5m", "1h", "1d", "999999999999d", "0.000000001s", "1.5", "-1", "0x10",
])
TEXT = st.one_of(NASTY_TEXT, st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
                 st.text(alphabet=CONTROL + string.printable, max_size=20))
NUMBER = st.one_of(
    st.integers(min_value=-2, max_value=70000), st.integers(),
    st.sampled_from([0, 1, -1, 2 ** 31, 2 ** 63, 10 ** 308, 10 ** 400, 10 ** 4299]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e-300, 1e300, 3.7e9]),
)
SCALAR = st.one_of(TEXT, NUMBER, st.booleans(), st.none())


def _json_like(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


ANY = _json_like(SCALAR)

# ---------------------------------------------------------------- near-valid configs
# Valid parts first, so that many documents pass the schema and reach the semantic and host
# checks, the programs' file safety, the terms, and the typed Config the agent builds; then
# one value anywhere in the document replaced by something hostile.
DURATION = st.sampled_from(["0", "1s", "250ms", "5m", "1h", "1d", 0, 0.5, 30, "999999999999d", 10 ** 12])
COUNT = st.integers(min_value=0, max_value=4)
SIGNALS = ["TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2", "WINCH"]
PROGRAM = st.sampled_from(["/bin/true", "/bin/sleep", "/bin/sh", "sleep", "/usr/bin/env", "/no/such/program",
                           "/tmp", "/etc/passwd", "/bin/tr\0ue", "/bin/t\nrue"])
ARGV = st.lists(st.sampled_from(["1", "-c", "exit 0", "/etc/hostname", "/tmp", "--flag", "\0"]), max_size=3).flatmap(
    lambda rest: PROGRAM.map(lambda prog: [prog, *rest]))
NAME = st.sampled_from(["web", "db", "a", "worker.1", "x-y_z"])


def _sub(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Dict[str, Any]]:
    """A mapping with any subset of these keys."""
    return st.fixed_dictionaries({}, optional=fields)


PROBE = st.one_of(
    st.fixed_dictionaries({"name": NAME, "type": st.just("tcp"), "port": st.integers(1, 65535)},
                          optional={"interval": DURATION, "timeout": DURATION, "fall": st.integers(1, 3)}),
    st.fixed_dictionaries({"name": NAME, "type": st.just("exec"), "argv": ARGV},
                          optional={"timeout": DURATION, "cwd": st.sampled_from(["/", "/tmp"])}),
    st.fixed_dictionaries({"name": NAME, "type": st.just("http"), "url": st.just("http://127.0.0.1:1/")},
                          optional={"expect_body": st.sampled_from(["ok", "("]), "expect_status": st.just(200)}),
    st.fixed_dictionaries({"name": NAME, "type": st.sampled_from(["proc_state", "notify"])},
                          optional={"max_duration": DURATION}),
)
ACTION = st.one_of(
    st.fixed_dictionaries({"type": st.just("command"), "argv": ARGV},
                          optional={"undo_argv": ARGV, "timeout": DURATION, "name": NAME}),
    st.fixed_dictionaries({"type": st.just("pacemaker")},
                          optional={"mode": st.sampled_from(["ban", "health"]), "resource": st.just("r")}),
    st.fixed_dictionaries({"type": st.just("keepalived"), "track_file": st.just("/run/track")},
                          optional={"weight": st.integers(-254, 254)}),
)
START = st.fixed_dictionaries({"argv": ARGV}, optional={
    "shell": st.booleans(), "user": st.sampled_from(["root", "nobody", "no-such-user", "a\0b"]),
    "cwd": st.sampled_from(["/", "/tmp", "/nonexistent"]), "timeout": DURATION,
    "ready": _sub(alive_for=DURATION, probe=NAME), "umask": st.sampled_from(["022", "0077"]),
    "env": st.just({"PATH": "/bin"})})
WATCH_KEYS = dict(
    match=_sub(pidfile=st.just("/run/x.pid"), exe=st.just("/bin/sleep"),
               cmdline=st.sampled_from(["sleep", "(", "a{99999}", "(a+)+$"]), comm=st.just("sleep"),
               user=st.sampled_from(["root", "nobody"]), parent=NAME),
    instances=_sub(min=COUNT, max=COUNT),
    start=START,
    stop=_sub(signal=st.sampled_from(SIGNALS), timeout=DURATION),
    restart=_sub(max_restarts=COUNT, window=DURATION, no_restart_exit_codes=st.lists(st.integers(0, 255)),
                 backoff=_sub(initial=DURATION, max=DURATION, multiplier=st.floats(1, 10),
                              jitter=st.floats(0, 1), reset_after=DURATION)),
    probes=st.lists(PROBE, max_size=2),
    on_giveup=_sub(action=st.sampled_from(["stop_watching", "slow_retry", "escalate"]),
                   retry_every=DURATION, escalate=st.lists(ACTION, max_size=2)),
)
# most watches have a start command (a watch needs `start:` or `match:`), names mostly unique
WATCH = st.one_of(
    st.fixed_dictionaries({"name": NAME, "start": START},
                          optional={k: v for k, v in WATCH_KEYS.items() if k not in ("start", "match")}),
    st.fixed_dictionaries({"name": NAME}, optional=WATCH_KEYS))
WATCHES = st.one_of(st.lists(WATCH, max_size=3, unique_by=lambda w: w["name"]), st.lists(WATCH, max_size=3))
LISTENER = st.fixed_dictionaries({"port": st.integers(1, 65535), "servers": st.lists(
    st.fixed_dictionaries({"name": st.just("s1"), "watches": st.lists(NAME, min_size=1, max_size=2)}),
    min_size=1, max_size=2)}, optional={"recover_after": DURATION})
VALID_DOC = st.fixed_dictionaries({"version": st.just(1), "watches": WATCHES}, optional={
    "serial": COUNT, "scope": st.just(["*"]),
    "not_after": st.sampled_from(["2099-01-01T00:00:00Z", "2001-01-01T00:00:00Z", "tomorrow"]),
    "defaults": _sub(start=START, instances=_sub(min=COUNT)),
    "haproxy_agent": st.lists(LISTENER, max_size=1)})


def _paths(doc: Any, here: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    out = [here]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, here + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, here + (index,))
    return out


def _replace(doc: Any, path: Tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _replace(doc[head], rest, value)}
    copy = list(doc)
    copy[head] = _replace(doc[head], rest, value)
    return copy


def _hostile(doc: Dict[str, Any], where: int, value: Any, as_key: bool) -> Any:
    """`doc` with one value (or one key) somewhere replaced by `value`."""
    paths = _paths(doc)
    path = paths[where % len(paths)]
    if as_key and path and isinstance(path[-1], str):
        return _rename(doc, path, value if isinstance(value, str) else str(value))
    return _replace(doc, path, value)


def _rename(doc: Any, path: Tuple[Any, ...], new: str) -> Any:
    if len(path) == 1:
        return {(new if k == path[0] else k): v for k, v in doc.items()}
    head = path[0]
    if isinstance(doc, dict):
        return {**doc, head: _rename(doc[head], path[1:], new)}
    copy = list(doc)
    copy[head] = _rename(doc[head], path[1:], new)
    return copy


CONFIG_DOC = st.one_of(
    VALID_DOC,
    st.tuples(VALID_DOC, st.integers(min_value=0), st.one_of(SCALAR, ANY), st.booleans()).map(lambda t: _hostile(*t)),
    st.fixed_dictionaries({"version": st.just(1), "watches": ANY}, optional={"defaults": ANY, "extra": ANY}),
)

# ---------------------------------------------------------------- YAML text and bytes
YAML_TOKENS = st.sampled_from([
    "version: 1\n", "watches:\n", "  - name: web\n", "    start: {argv: [/bin/true]}\n", "- ", ": ", "? ",
    "[", "]", "{", "}", ",", "&a ", "*a", "&b ", "*b", "<<: *a\n", "!!int ", "!!timestamp ", "!!binary ",
    "!!float ", "!!str ", "!!map ", "!!python/object:os.system ", "!<tag:yaml.org,2002:int> ", "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n", "---\n", "...\n", "|\n", ">-\n", "'", '"', "\\", "#", "\n", "  ", "\t", "\r",
    "\ufeff", "\0", "\x07", "\x1b", "\x85", "\u2028", "\ud7ff", "é", "9" * 4400, "0x1f", "0o17", "1_000",
    "2001-02-30", "2001-12-14t21:59:43.10-05:00", "1e400", ".nan", ".inf", "~", "null", "yes", "on",
])
YAML_TEXT = st.lists(st.one_of(YAML_TOKENS, TEXT), max_size=40).map("".join)


def _mutate(data: bytes, edits: List[Any]) -> bytes:
    out = bytearray(data)
    for kind, where, blob in edits:
        pos = where % (len(out) + 1)
        if kind == "insert":
            out[pos:pos] = blob
        elif kind == "replace":
            out[pos:pos + len(blob)] = blob
        elif kind == "truncate":
            del out[pos:]
        else:
            del out[pos:pos + len(blob) + 1]
    return bytes(out)


EDIT = st.tuples(st.sampled_from(["insert", "replace", "truncate", "delete"]), st.integers(min_value=0),
                 st.one_of(st.binary(max_size=8), YAML_TOKENS.map(lambda t: t.encode("utf-8", "surrogatepass"))))


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def serialized(doc: Any, style: int) -> bytes:
    """A document as the bytes of a file: JSON (which is YAML) or PyYAML's block style."""
    import yaml

    if style == 0:
        return _encode(json.dumps(doc, indent=1, allow_nan=True, default=str))
    try:
        return _encode(yaml.safe_dump(doc, allow_unicode=True, default_flow_style=bool(style == 2)))
    except (yaml.YAMLError, ValueError):
        return _encode(json.dumps(doc, default=str))


CONFIG_BYTES = st.one_of(
    st.tuples(CONFIG_DOC, st.integers(0, 2), st.lists(EDIT, max_size=2)).map(
        lambda t: _mutate(serialized(t[0], t[1]), t[2])),
    YAML_TEXT.map(_encode),
    st.binary(max_size=200),
)

# ---------------------------------------------------------------- control requests
COMMANDS = ["status", "pause", "resume", "restart", "reload"]
REQUEST = st.one_of(
    st.fixed_dictionaries({"cmd": st.one_of(st.sampled_from(COMMANDS), SCALAR)},
                          optional={"watch": st.one_of(st.sampled_from(["svc", "other", "*", ""]), ANY),
                                    "for": st.one_of(st.floats(min_value=0.001, max_value=1e6), NUMBER, ANY),
                                    "extra": ANY}),
    st.dictionaries(TEXT, ANY, max_size=4),
)


def request_bytes() -> st.SearchStrategy[bytes]:
    """What a hostile local client may write to the control socket."""
    as_json = REQUEST.map(lambda r: _encode(json.dumps(r, allow_nan=True, default=str)) + b"\n")
    return st.one_of(
        as_json,
        st.tuples(as_json, st.lists(EDIT, min_size=1, max_size=3)).map(lambda t: _mutate(*t)),
        st.binary(max_size=300),
        st.sampled_from([b"", b"\n", b"{}\n", b"[]\n", b"null\n", b'"status"\n', b"{" * 5000 + b"\n",
                         b"[" * 100000 + b"\n", b'{"cmd":"status"}', b'{"cmd":"status"}\n' * 50,
                         b"x" * 70000, b'{"cmd": "pause", "watch": "*", "for": 1e999}\n',
                         b'{"cmd":"\xff"}\n', b"\xef\xbb\xbf{\"cmd\":\"status\"}\n"]),
    )


# ---------------------------------------------------------------- revocation lists, durations
KEY_ID = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)
REVOKED_LINE = st.one_of(KEY_ID, KEY_ID.map(str.upper), KEY_ID.map(lambda k: f"  {k}  # old laptop"),
                         TEXT, st.just("#"), st.just(""), st.just("\ufeff" + "0" * 16))
REVOKED_BYTES = st.one_of(
    st.lists(REVOKED_LINE, max_size=8).map(lambda lines: _encode("\n".join(lines))),
    st.binary(max_size=200),
    st.tuples(st.lists(REVOKED_LINE, max_size=4).map(lambda lines: _encode("\n".join(lines))),
              st.lists(EDIT, min_size=1, max_size=2)).map(lambda t: _mutate(*t)),
)
DURATION_VALUE = st.one_of(
    st.from_regex(r"\A\s*[0-9]{1,14}(\.[0-9]{0,10})?\s*(ms|s|m|h|d|)\s*\Z"),
    TEXT, NUMBER, st.booleans(), st.text(max_size=100),
)
