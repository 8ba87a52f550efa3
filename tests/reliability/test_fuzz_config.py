"""Hostile configs get a clean verdict: never a traceback, one printable line per problem
naming the file, within a generous bound of time and memory; and what is accepted, the
agent can build. In-process through the one decision (intake.decide.decide) for speed, and
a smaller number through the real `procguard check` and its bounded child, which must agree.

The explicit examples are the inputs that escaped as tracebacks or stalls before (issue 10,
item 7), and the bombs the loader bounds.
"""

from __future__ import annotations

from typing import Dict

from hypothesis import example, given

from helpers import fuzz
from helpers.agent import child_env, procguard_cmd
from helpers.bounds import MiB, measured, run_measured
from procguard.config.model import build_config
from procguard.durations import MAX_SECONDS
from procguard.intake.decide import decide
from procguard.intake.verdict import Request, Verdict

PATH = "/etc/procguard/fuzz.yaml"
DEADLINE = 20.0        # CPU seconds for one decision in-process; a typical one takes milliseconds
PEAK = 96 * MiB        # what Python may allocate for one decision (the node bound needs ~35 MiB)
CLI_DEADLINE = 60.0    # the checking child gives up after 30 s of its own
CLI_RSS = 256 * MiB    # the check command and its child (a YAML bomb once took 2.8 GiB)


def _bomb(width: int, depth: int) -> bytes:
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth)]
    return ("\n".join(lines) + "\n").encode()


def _inline_bomb(width: int, depth: int) -> bytes:
    """Anchors and aliases inside one node: nothing outside it is built first."""
    parts = ["&l0 [" + ", ".join(["x"] * width) + "]"]
    parts += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth)]
    return ", ".join(parts).encode()


def _merge_bomb(depth: int) -> bytes:
    inner = "&m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"
    for i in range(1, depth):
        inner = f"&m{i} {{<<: [{inner}" + f", *m{i - 1}" * 8 + "]}"
    return f"version: 1\nwatches: []\nx: {inner}\n".encode()


GOOD = b"version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/sleep, '1000']}\n"
NASTY: Dict[str, bytes] = {
    "control_character": GOOD.replace(b"name: web", b"name: w\x07eb"),
    "nul_byte_in_the_text": GOOD + b"\x00\n",
    "escape_sequence": b"version: 1\nwatches: []\n# \x1b[2J\n",
    "deep_flow_nesting": b"version: 1\nwatches: " + b"[" * 100_000 + b"\n",
    "deep_block_nesting": b"version: 1\nwatches:\n" + b"- " * 400 + b"x\n",
    "deep_mapping_nesting": b"version: 1\nwatches: " + b"{a: " * 5000 + b"1" + b"}" * 5000 + b"\n",
    "self_referencing_alias": b"version: 1\nwatches: &w [*w]\n",
    "self_referencing_key": b"version: 1\nwatches: []\n? &k [*k]\n: 1\n",
    "alias_bomb": b"version: 1\nwatches: []\n" + _bomb(9, 9),
    "alias_bomb_as_a_key": b"? [" + _inline_bomb(9, 9) + b"]\n: 1\n",
    "merge_key_bomb": _merge_bomb(10),
    "merge_into_itself": b"version: 1\nwatches: []\nx: &m {<<: *m}\n",
    "integer_over_4300_digits": b"version: 1\nserial: " + b"9" * 5000 + b"\nwatches: []\n",
    "duration_over_4300_digits": GOOD + b"    stop: {timeout: " + b"9" * 4400 + b"}\n",
    "integer_beyond_a_float": GOOD + b"    restart: {window: 1" + b"0" * 400 + b"}\n",
    "bad_int_tag": b"version: !!int abc\nwatches: []\n",
    "empty_int_tag": b"version: !<tag:yaml.org,2002:int> ''\nwatches: []\n",
    "bad_timestamp_tag": b"version: 1\nnot_after: !!timestamp 2020-13-45\nwatches: []\n",
    "impossible_timestamp": b"version: 1\nnot_after: !!timestamp 2021-02-30T25:61:61Z\nwatches: []\n",
    "python_object_tag": b"version: 1\nwatches: !!python/object/apply:os.system [true]\n",
    "nul_byte_in_user": GOOD.replace(b"start: {", b'start: {user: "ro\\0ot", ') + b'    match: {user: "a\\0b"}\n',
    "nul_byte_in_the_program": b'version: 1\nwatches:\n  - name: web\n    start: {argv: ["/bin/sle\\0ep"]}\n',
    "newline_in_a_key": b'version: 1\nwatches: []\n"line\\nbreak": 1\n',
    "byte_order_mark": b"\xef\xbb\xbf" + GOOD,
    "byte_order_mark_inside": GOOD.replace(b"web", b"\xef\xbb\xbfweb"),
    "utf16_file": GOOD.decode().encode("utf-16"),
    "not_utf8": GOOD + b"# \xff\xfe\n",
    "huge_file": GOOD + b"#" + b"x" * (2 * MiB) + b"\n",
    "just_under_the_size_bound": GOOD + b"# " + b"x" * (MiB - 200) + b"\n",
    "nan_and_infinity": GOOD + b"    restart: {backoff: {multiplier: .nan, jitter: .inf, initial: .inf}}\n",
    "ten_thousand_years": GOOD + b"    stop: {timeout: 3650000d}\n",
    "huge_float_duration": GOOD + b"    stop: {timeout: 1.0e+300}\n",
    "duration_cut_short": GOOD + b"    stop: {timeout: '1" + b" " * 70 + b"ms'}\n",
    "long_simple_key": b"version: 1\nwatches: []\n" + b"k" * 5000 + b": 1\n",
    "many_documents": b"version: 1\nwatches: []\n---\nversion: 1\nwatches: []\n",
    "empty": b"",
    "only_a_comment": b"# nothing\n",
}


def judge(data: bytes) -> Verdict:
    """decide() on `data`, with the properties every verdict must have."""
    got = measured(decide, Request(path=PATH, data=data, allow_unsigned=True))
    assert got.seconds < DEADLINE, f"one decision took {got.seconds:.1f} CPU seconds"
    assert got.peak < PEAK, f"one decision allocated {got.peak / MiB:.0f} MiB"
    verdict: Verdict = got.value
    if verdict.refusal is not None:
        assert verdict.doc is None
        message = verdict.refusal["message"]
        assert message.isprintable() and message.strip(), f"not one printable line: {message!r}"
        assert PATH in message, f"the file is not named: {message!r}"
        for problem in verdict.problems:
            assert problem["file"] == PATH and problem["line"] >= 1, problem
            assert problem["message"].isprintable() and problem["key"].isprintable(), problem
        return verdict
    config = build_config(PATH, verdict.doc)  # what the agent does next with an accepted doc
    for watch in config.watches:
        times = (watch.stop_timeout, watch.restart.window, watch.restart.backoff.initial,
                 watch.restart.backoff.max, watch.on_giveup.retry_every)
        assert all(0 <= t <= MAX_SECONDS for t in times), (watch.name, times)
    return verdict


def _nasty(test):
    for data in NASTY.values():
        test = example(data)(test)
    return test


@fuzz.budget("config_decide")
@given(fuzz.CONFIG_BYTES)
@_nasty
def test_any_config_gets_a_clean_verdict_in_bounded_time_and_memory(data):
    fuzz.count("config_decide")
    judge(data)


@fuzz.budget("yaml_text")
@given(fuzz.YAML_TEXT)
def test_any_yaml_text_gets_a_clean_verdict(text):
    fuzz.count("yaml_text")
    judge(text.encode("utf-8", "surrogatepass"))


def test_the_known_nasty_inputs_are_refused_with_the_line_that_says_why():
    expected = {
        "control_character": ":3: character '\\x07' is not allowed in YAML",
        "deep_flow_nesting": ":2: is nested too deeply (at most 32 levels)",
        "deep_block_nesting": ":3: is nested too deeply (at most 32 levels)",
        "self_referencing_alias": "is nested too deeply",
        "alias_bomb": "more than 200000 values",
        "alias_bomb_as_a_key": "a key must be a plain name",
        "merge_key_bomb": "merge keys (<<) add more than 200000 values",
        "merge_into_itself": "merges a mapping into itself",
        "integer_over_4300_digits": "a value cannot be read: Exceeds the limit (4300 digits)",
        "bad_timestamp_tag": "a value cannot be read: month must be in 1..12",
        "nul_byte_in_user": "watches[0].start.user: user 'ro\\x00ot' does not exist",
        "newline_in_a_key": "line\\nbreak: unknown key",
        "nan_and_infinity": "multiplier: must be a finite number, not nan",
        "ten_thousand_years": "'3650000d' is longer than ten years",
        "huge_float_duration": "must be at most 316224000",
        "duration_cut_short": "stop.timeout: is longer than 64 characters",
        "huge_file": ":1: is larger than 1024 KiB",
    }
    for name, piece in expected.items():
        verdict = judge(NASTY[name])
        assert verdict.refusal is not None and piece in verdict.refusal["message"], (name, verdict.refusal)
    assert judge(NASTY["byte_order_mark"]).refusal is None, "a BOM is allowed at the start of YAML"


def test_a_watch_without_instances_leaves_the_default_max_alone_for_the_next():
    """Found by the soak-size fuzzing: the first watch's default max stuck to the defaults,
    so a later `instances: {min: 3}` read as max 1 (refused by check, min 3 max 1 in the agent)."""
    data = GOOD + b"  - name: db\n    start: {argv: [/bin/sleep, '1001']}\n    instances: {min: 3}\n"
    for _ in range(2):  # the second decision in the same process too
        verdict = judge(data)
        assert verdict.refusal is None, verdict.refusal
        assert build_config(PATH, verdict.doc).watches[1].max_instances == 3


def check_cli(path: str):
    return run_measured(procguard_cmd() + ["check", path], env=child_env(), timeout=CLI_DEADLINE)


@fuzz.budget("check_cli")
@given(fuzz.CONFIG_BYTES)
@example(NASTY["alias_bomb"])
@example(NASTY["merge_key_bomb"])
@example(NASTY["deep_flow_nesting"])
@example(NASTY["control_character"])
@example(NASTY["integer_over_4300_digits"])
@example(NASTY["nul_byte_in_user"])
@example(NASTY["huge_file"])
@example(GOOD)
def test_procguard_check_agrees_with_the_decision_in_bounded_time_and_memory(tmp_path_factory, data):
    fuzz.count("check_cli")
    path = tmp_path_factory.mktemp("check") / "fuzz.yaml"
    path.write_bytes(data)
    ran = check_cli(str(path))
    assert not ran.timed_out and ran.seconds < CLI_DEADLINE
    assert ran.max_rss < CLI_RSS, f"check used {ran.max_rss / MiB:.0f} MiB"
    assert "Traceback" not in ran.err and ran.code in (0, 1), (ran.code, ran.err[-2000:])
    in_process = decide(Request(path=str(path), data=data, allow_unsigned=True))
    if in_process.refusal is None:
        assert ran.code == 0, ran.err
        assert ran.out.startswith(f"{path}: OK, ")
        return
    assert ran.code == 1 and not ran.out
    lines = ran.err.splitlines()
    assert lines and all(line.startswith(str(path)) and line.isprintable() for line in lines), lines
    if "could not be checked" not in ran.err:  # the child's own bound, on a very busy machine
        assert "; ".join(lines) == in_process.refusal["message"], "the child and in-process agree"

