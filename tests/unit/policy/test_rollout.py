"""Loading the rollout data: malformed entries are refused when the data loads, naming the entry."""

from __future__ import annotations

import datetime

import pytest

from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.rollout import expiring, load_rollout, parse_days

KNOWN = {"pools.foreign_pool", "queues.foreign_queue"}
EXCEPTION = """
exceptions:
  - id: EXC-1
    rule: pools.foreign_pool
    team: team_a
    owner: alice
    reason: migration
    ticket: T-1
    expires: 2030-06-30
"""


def _load(tmp_path, text: str):
    path = tmp_path / "rollout.yaml"
    path.write_text(text)
    return load_rollout(path, KNOWN)


def test_valid_rollout(tmp_path):
    """Overrides and exceptions load with their defaults (globs match everything)."""
    rollout = _load(tmp_path, EXCEPTION + "actions: [{rule: queues.foreign_queue, action: warn, teams: [team_b]}]\n")
    (exception,) = rollout.exceptions
    assert (exception.dag_id, exception.task_id, exception.expires) == ("*", "*", datetime.date(2030, 6, 30))
    assert rollout.actions[0].action == "warn"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (EXCEPTION.replace("    expires: 2030-06-30\n", ""), "exceptions.0.expires: Field required"),
        (EXCEPTION.replace("2030-06-30", "soon"), "exceptions.0.expires: Input should be a valid date"),
        (EXCEPTION.replace("pools.foreign_pool", "pools.foreign_pol"), "did you mean 'pools.foreign_pool'"),
        (EXCEPTION.replace("    owner: alice\n", ""), "exceptions.0.owner: Field required"),
        (EXCEPTION + EXCEPTION.replace("exceptions:\n", ""), "exception id 'EXC-1' is used twice"),
        ("actions: [{rule: queues.foreign_queue, action: allow}]", "actions.0.action: Input should be"),
        ("actions: [{rule: nope.rule, action: warn}]", "actions[0].rule: no loaded rule has the id 'nope.rule'"),
        ("actions: [{rule: queues.foreign_queue, action: warn, enforcement_points: [everywhere]}]", "actions.0"),
        ("actions: [{rule: queues.foreign_queue, action: warn, teams: []}]", "actions.0.teams"),
        ("surprise: 1", "surprise: Extra inputs are not permitted"),
        ("exceptions: [oops", "is not valid YAML"),
    ],
)
def test_malformed_rollout_is_refused_naming_the_entry(tmp_path, text, fragment):
    """Every problem names the file and the bad entry."""
    with pytest.raises(ConfigurationError, match="rollout") as error:
        _load(tmp_path, text)
    assert fragment in str(error.value)


def test_expiring_lists_soon_and_expired_exceptions_soonest_first(tmp_path):
    """--expiring-within lists what expires within the horizon, and what already expired."""
    text = EXCEPTION + "".join(
        EXCEPTION.replace("exceptions:\n", "").replace("EXC-1", f"EXC-{n}").replace("2030-06-30", date)
        for n, date in ((2, "2030-06-10"), (3, "2031-01-01"), (4, "2030-05-01"))
    )
    soon = expiring(_load(tmp_path, text), 14, datetime.date(2030, 6, 20))
    assert [e.id for e in soon] == ["EXC-4", "EXC-2", "EXC-1"]


@pytest.mark.parametrize(("text", "days"), [("14d", 14), ("2w", 14), ("30", 30)])
def test_parse_days(text, days):
    assert parse_days(text) == days


def test_parse_days_refuses_other_units():
    with pytest.raises(ValueError, match="like 14d or 2w"):
        parse_days("3 months")
