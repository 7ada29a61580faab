"""A hostile history (issue 24 items 6-8): odd ids and filters, tampered rows, zlib bombs,
foreign databases. Each is one line naming the problem, never a traceback or a hang."""

from __future__ import annotations

import pytest

from gptplay.history import runs
from tests.cli_support import invoke
from tests.conftest import run_cli
from tests.test_history import record_fake

HUGE = "9" * 5000
BAD_IDS = ["99999999999999999999", "9223372036854775808", "²", "٣", HUGE, "-1", "0", "1e3"]


def short(value: str) -> str:
    return value if len(value) < 24 else f"{value[:6]}-{len(value)}-chars"


def _usage_error(ran, *words: str) -> None:
    assert ran.exit_code == 2, (ran.exit_code, ran.stdout[-300:], ran.error)
    assert ran.error is not None and "\n" not in ran.error and len(ran.error) < 200, ran.error
    for word in words:
        assert word in ran.error, ran.error


# ---- item 6: ids and filters ------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS, ids=short)
@pytest.mark.parametrize("command", [["history", "show"], ["history", "delete"], ["replay"]])
def test_an_id_that_is_not_a_run_id_is_one_line_exit_2(command, bad):
    record_fake()
    _usage_error(invoke(*command, "--", bad), "is not a run id")


@pytest.mark.parametrize(
    "bad", ["99999999999999999999", "²", HUGE, "1,99999999999999999999"], ids=short
)
def test_compare_runs_with_an_id_that_is_not_a_run_id_is_one_line(bad):
    _usage_error(invoke("compare", "--runs", bad), "--runs", "is not a run id")


@pytest.mark.parametrize("bad", ["9223372036854775808", str(2**64), HUGE, "²", "0"], ids=short)
@pytest.mark.parametrize("command", [["history"], ["history", "search", "otter"]])
def test_a_limit_beyond_sqlite_is_one_line(command, bad):
    record_fake()
    _usage_error(invoke(*command, "-n", bad), "-n", "is not a count of runs")


@pytest.mark.parametrize("since", ["9" * 400 + "d", "9" * 12 + "w", "²d", HUGE], ids=short)
def test_since_far_beyond_any_date_is_one_line(since):
    record_fake()
    _usage_error(invoke("history", "--since", since), "--since")


def test_since_the_year_1_is_a_date_and_lists_every_run():
    first, second = record_fake(), record_fake()
    ran = invoke("history", "--since", "0001-01-01", "--json")
    assert ran.exit_code == 0, ran.error
    assert ran.stdout.count("\n") == 2 and f'"id": {first}' in ran.stdout
    assert f'"id": {second}' in invoke("history", "-n", str(2**63 - 1), "--json").stdout


def test_chat_resume_of_a_non_ascii_digit_is_no_such_chat():
    with pytest.raises(runs.HistoryError, match="no recorded chat '²'"):
        from gptplay.history import recorded_conversation

        recorded_conversation("²")


def test_the_real_cli_prints_one_line_for_a_huge_id():
    r = run_cli("history", "show", HUGE, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.startswith("error: ID '999") and len(r.stderr) < 300, r.stderr
