"""``airflow-policies routes``: the inventory is written between its markers, and nothing else changes."""

from __future__ import annotations

import pytest

from airflow_policies.cli import main
from airflow_policies.commands.routes import BEGIN, END, with_inventory
from airflow_policies.enforcement.execution_routes import render_inventory
from airflow_policies.exceptions import ConfigurationError


def test_the_inventory_replaces_what_is_between_the_markers_only():
    text = f"# Title\n\nbefore\n{BEGIN}\nstale table\n{END}\nafter\n"
    assert with_inventory(text, "| new |\n") == f"# Title\n\nbefore\n{BEGIN}\n\n| new |\n\n{END}\nafter\n"


@pytest.mark.parametrize("text", ["no markers", f"{END}\n{BEGIN}\n", f"{BEGIN}\nonly the first"])
def test_a_file_without_both_markers_in_order_is_an_error(text):
    with pytest.raises(ConfigurationError, match="holds no inventory markers"):
        with_inventory(text, "| t |\n")


def test_the_command_rewrites_the_docs_file(tmp_path, capsys):
    docs = tmp_path / "points.md"
    docs.write_text(f"intro\n{BEGIN}\n{END}\n")
    assert main(["routes", "--docs", str(docs)]) == 0
    assert render_inventory() in docs.read_text()
    assert main(["routes"]) == 0
    assert capsys.readouterr().out == render_inventory()
