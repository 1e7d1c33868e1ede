"""Generated documentation stays in step with the rules."""

from __future__ import annotations

from airflow_policies.policy.rule_index import declared_rules, render_rule_index
from tests.conftest import REPO


def test_rule_index_is_current():
    """docs/rules.md is what `airflow-policies rules --output docs/rules.md` writes today."""
    assert (REPO / "docs" / "rules.md").read_text() == render_rule_index(declared_rules((REPO / "rego").resolve()))


def test_rule_index_lists_every_rule_folder():
    """Each rule folder appears once, with its kind."""
    index = render_rule_index(declared_rules((REPO / "rego").resolve()))
    folders = sorted(p.parent for p in (REPO / "rego" / "airflow_policies" / "rules").glob("*/*/policy.rego"))
    rows = [line for line in index.splitlines() if line.startswith("| `")]
    assert len(rows) == len(folders) + 2  # plus main's two findings
    for folder in folders:
        assert f"| `{folder.parent.name}.{folder.name}` |" in index
    assert "| `routing.team_queue` | mutation |" in index
    assert "| `connections.foreign_connection` | violation |" in index


def test_every_rule_declares_its_id_and_default_action():
    """Each rule's METADATA declares custom.id (its family.rule folder) and a valid default action."""
    declarations = declared_rules((REPO / "rego").resolve())
    assert len(declarations) >= 20
    for rule in declarations:
        assert rule.id == rule.path_id, rule
        assert rule.action in ("deny", "warn", "dryrun"), rule
        assert rule.title and rule.remediation, rule
