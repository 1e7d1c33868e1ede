"""Parse context: the DagBag and Airflow's entry point come from the call stack, not from what DAG code sets."""

from __future__ import annotations

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_policies.enforcement.parse_context import calling_dagbag, enforcement_point, runs_callbacks


def test_calling_dagbag_is_found_from_inside_a_policy(tmp_path, monkeypatch):
    """Called from a policy hook, calling_dagbag() returns the DagBag parsing the file."""
    from airflow import settings

    (tmp_path / "d.py").write_text(
        "import pendulum\nfrom airflow.sdk import DAG\n"
        "dag = DAG('d', schedule=None, start_date=pendulum.datetime(2026, 1, 1))\n"
    )
    seen = []
    monkeypatch.setattr(settings, "dag_policy", lambda dag: seen.append(calling_dagbag()))
    bag = DagBag(dag_folder=tmp_path, bundle_path=tmp_path, bundle_name="team_a_dags", safe_mode=False)
    assert seen == [bag]
    assert calling_dagbag() is None


class TestEnforcementPoint:
    @pytest.mark.parametrize(
        ("path", "function", "expected"),
        [
            ("/venv/airflow/dag_processing/processor.py", "_parse_file", "dag_processor"),
            ("/venv/airflow/sdk/execution_time/task_runner.py", "parse", "worker"),
            ("/venv/airflow/cli/commands/dag_command.py", "dag_reserialize", "cli"),
        ],
    )
    def test_named_by_the_airflow_entry_point_on_the_stack(self, path, function, expected):
        """The enforcement point comes from which Airflow parse entry point is calling."""
        namespace = {"enforcement_point": enforcement_point}
        exec(compile(f"def {function}():\n    return enforcement_point()\n", path, "exec"), namespace)
        assert namespace[function]() == expected

    def test_dag_code_cannot_pose_as_a_worker(self, tmp_path, monkeypatch):
        """A DAG file setting the worker's parsing-context variables does not change the point."""
        from airflow import settings

        (tmp_path / "d.py").write_text(
            "import os, pendulum\nfrom airflow.sdk import DAG\n"
            "os.environ['_AIRFLOW_PARSING_CONTEXT_DAG_ID'] = 'd'\n"
            "os.environ['_AIRFLOW_PROCESS_CONTEXT'] = 'client'\n"
            "dag = DAG('d', schedule=None, start_date=pendulum.datetime(2026, 1, 1))\n"
        )
        monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "")
        monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "")
        seen = []
        monkeypatch.setattr(settings, "dag_policy", lambda dag: seen.append(enforcement_point()))
        DagBag(dag_folder=tmp_path, bundle_path=tmp_path, bundle_name="b", safe_mode=False)
        assert seen == ["cli"]


class TestRunsCallbacks:
    @pytest.mark.parametrize(("callbacks", "expected"), [([], False), (["request"], True)])
    def test_read_from_the_dag_processors_parse_request(self, callbacks, expected):
        """Whether the DAG processor's _parse_file on the stack was asked to run callbacks."""
        import types

        namespace = {"runs_callbacks": runs_callbacks}
        path = "/venv/airflow/dag_processing/processor.py"
        exec(compile("def _parse_file(msg, log):\n    return runs_callbacks()\n", path, "exec"), namespace)
        assert namespace["_parse_file"](types.SimpleNamespace(callback_requests=callbacks), None) is expected

    def test_outside_the_dag_processor(self):
        """No DAG-processor parse on the stack: no callbacks."""
        assert runs_callbacks() is False
