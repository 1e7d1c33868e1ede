"""Parsing a DAG file for ``check``: the Airflow modules it imports are imported once, before the fork, and only when
they are installed code; the file itself, and anything beside it, only ever runs in the forked child."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import airflow
import pytest

from airflow_policies.document.models import BundleInfo
from airflow_policies.document.parse import _pre_import_airflow_modules, parse_documents

_PLANTED = "airflow_policies_planted_by_a_dag_repo"


@pytest.fixture
def dag_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAG repository with an ``airflow/`` folder that Airflow's namespace package has picked up (as
    ``pkgutil.extend_path`` does for a folder on ``sys.path`` when ``airflow`` is imported): its module, when run,
    leaves a marker file."""
    planted = tmp_path / "airflow" / _PLANTED
    planted.mkdir(parents=True)
    (planted / "__init__.py").write_text("")
    (planted / "hook.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.setattr(airflow, "__path__", [*airflow.__path__, str(tmp_path / "airflow")])
    yield tmp_path
    for name in [m for m in sys.modules if _PLANTED in m]:
        del sys.modules[name]


def test_installed_airflow_modules_are_imported_before_the_fork(tmp_path: Path):
    module = "airflow.providers.standard.sensors.date_time"
    sys.modules.pop(module, None)
    dag = tmp_path / "dag.py"
    dag.write_text(f"from {module} import DateTimeSensor\n")
    _pre_import_airflow_modules(dag)
    assert module in sys.modules


def test_a_module_beside_the_dags_is_never_imported_in_the_parent(dag_repo: Path):
    """The DAG repository's own ``airflow.<planted>`` would run in the process that decides: it is left to the
    child, where the file's code runs anyway."""
    dag = dag_repo / "dag.py"
    dag.write_text(f"from airflow.{_PLANTED}.hook import anything\n")
    _pre_import_airflow_modules(dag)
    assert not (dag_repo / "ran").exists()
    assert not any(_PLANTED in name for name in sys.modules)


def test_the_file_still_parses_in_its_child(tmp_path: Path):
    """With its installed imports done before the fork, the file is parsed in the child as before."""
    dag = tmp_path / "dag.py"
    dag.write_text(
        "import pendulum\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "from airflow.sdk import DAG\n"
        "with DAG('team_a__pre', schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz='UTC')):\n"
        "    EmptyOperator(task_id='noop')\n"
    )
    documents, errors = parse_documents(dag, tmp_path, BundleInfo(name="team_a_dags", team="team_a"), None)
    assert not errors and [d.dag.dag_id for d in documents] == ["team_a__pre"]


def test_what_the_imports_print_goes_to_stderr(tmp_path: Path):
    """``check --format json`` prints its report on stdout: a deprecation warning an import logs must not land
    in it (Airflow's logging writes to the process's stdout). In a process of its own, whose stdout is fd 1."""
    dag = tmp_path / "dag.py"
    dag.write_text("from airflow.providers.standard.operators.empty import EmptyOperator\n")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from airflow_policies.document import parse\n"
        "parse._import_installed = lambda modules: print('logged while importing', list(modules))\n"
        f"parse._pre_import_airflow_modules(Path({str(dag)!r}))\n"
        "print('the report')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout == "the report\n"
    assert "logged while importing ['airflow.providers.standard.operators.empty']" in result.stderr
