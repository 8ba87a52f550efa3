"""Hostile revocation lists and durations: the parsers never raise anything but their own
one-line errors, and what they return holds what the input says.

Issue 10, item 3: a byte-order mark, or any line that is not a key id, in revoked.txt was
reported and skipped, so the key on that line stayed trusted. Now any problem in the list
fails closed: the caller refuses every config until the list is fixed.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given

from helpers import fuzz
from helpers.bounds import measured
from helpers.signing import Env, config_text
from procguard.durations import MAX_SECONDS, parse_duration
from procguard.intake.decide import decide
from procguard.intake.verdict import Request
from procguard.signing.keys import KEY_ID_RE, read_revoked
from procguard.signing.signature import sign

DEADLINE = 5.0


def expected_ids(data: bytes) -> set:
    """The oracle: every line that is a key id once its comment and blanks are gone."""
    found = set()
    for line in data.decode("utf-8", "replace").splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if KEY_ID_RE.match(entry):
            found.add(entry)
    return found


@fuzz.budget("revoked")
@given(fuzz.REVOKED_BYTES)
@example(b"\xef\xbb\xbf0123456789abcdef\n")
@example(b"0123456789ABCDEF # upper case\n\xff\xfe\n")
@example(b"0123456789abcdef\r\nfedcba9876543210\r\n")
@example(b"\x00" * 100)
@example(b"#" * 5000 + b"\n" + b"a" * 10_000)
def test_a_revocation_list_revokes_every_key_id_line_and_reports_the_rest(tmp_path_factory, data):
    fuzz.count("revoked")
    path = tmp_path_factory.mktemp("revoked") / "revoked.txt"
    path.write_bytes(data)
    got = measured(read_revoked, path)
    assert got.seconds < DEADLINE
    ids, problems = got.value
    assert ids <= expected_ids(data)
    if not problems:
        assert ids == expected_ids(data)  # with problems, every config is refused anyway
    for problem in problems:
        assert problem.startswith(f"{path}:") and problem.isprintable(), problem


def test_a_revocation_list_that_cannot_be_read_is_a_problem(tmp_path):
    (tmp_path / "revoked.txt").mkdir()
    ids, problems = read_revoked(tmp_path / "revoked.txt")
    assert not ids and len(problems) == 1 and "cannot be read" in problems[0]


def test_a_revocation_list_larger_than_the_bound_is_a_problem(tmp_path):
    path = tmp_path / "revoked.txt"
    path.write_bytes(b"0123456789abcdef\n" * 70_000)
    ids, problems = read_revoked(path)
    assert not ids and problems == [f"{path}: larger than 1024 KiB"]


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b"\xff"], ids=["byte_order_mark", "unreadable_line"])
def test_a_revoked_key_on_a_spoiled_line_is_never_accepted(tmp_path, prefix):
    env = Env(tmp_path)
    key = env.new_key("ops")
    env.revoked.write_bytes(prefix + key.key_id.encode() + b"\n")
    data = config_text(serial=1)
    verdict = decide(Request(path=str(tmp_path / "w.yaml"), data=data, sig=sign(key.private, data),
                             trusted_dir=str(env.trusted), revoked=str(env.revoked), host_name="web01",
                             on_this_host=False))
    assert verdict.refusal is not None, "a config signed by the revoked key was accepted"


@fuzz.budget("durations")
@given(fuzz.DURATION_VALUE)
@example("999999999999d")
@example(10 ** 400)
@example(float("nan"))
@example(float("inf"))
@example(-0.0)
@example("1" * 5000)
@example(" 10 s ")
@example("\x85" * 23 + "000000000001" + "\x85" * 31 + "ms")  # was cut to 64 characters: 1 minute
@example("1" + " " * 70 + "ms")
@example(True)
def test_a_duration_is_a_bounded_number_of_seconds_or_one_value_error(value):
    fuzz.count("durations")
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        assert str(exc).isprintable() and str(exc).strip()
        return
    assert isinstance(seconds, float) and math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS
    if isinstance(value, str) and value.strip().endswith("ms"):
        assert math.isclose(seconds, float(value.strip()[:-2].strip()) / 1000)

