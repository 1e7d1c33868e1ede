"""Which files ``check`` parses: those the DAG processor's walk of the bundle gives, read with Airflow's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.utils.file import list_py_file_paths

from airflow_policies.commands import check
from airflow_policies.exceptions import ConfigurationError

DAG = "from airflow.sdk import DAG\n"


def _repository(root: Path, ignore: dict[str, str]) -> Path:
    for name in ("a.py", "skip_me.py", "sub/b.py", "sub/old_c.py", "sub/deep/d.py", "other/e.py", "other/keep.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(DAG)
    (root / "helper.py").write_text("VALUE = 1\n")  # not a DAG file in safe mode
    for folder, patterns in ignore.items():
        (root / folder / ".airflowignore").write_text(patterns)
    return root


@pytest.mark.parametrize(
    ("syntax", "ignore"),
    [
        ("glob", {".": "skip_*.py\nother/\n!other/keep.py\n", "sub": "old_*\ndeep/\n"}),
        ("regexp", {".": "skip_.*\nother/e\n", "sub": "old_\n"}),
    ],
)
def test_the_same_files_as_airflows_walk(monkeypatch, tmp_path, syntax, ignore):
    monkeypatch.setenv("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", syntax)
    root = _repository(tmp_path / "dags", ignore).resolve()
    airflow = sorted(Path(p) for p in list_py_file_paths(root, safe_mode=True))
    assert check.dag_files([root], root) == airflow
    # A sub-folder, or named files, against the bundle root: the ignore files above them still apply.
    assert check.dag_files([root / "sub"], root) == [p for p in airflow if p.is_relative_to(root / "sub")]
    named = [root / "skip_me.py", root / "sub" / "old_c.py", root / "a.py", root / "helper.py"]
    assert check.dag_files(named, root) == [root / "a.py"]


def test_a_changed_airflow_file_discovery_is_a_configuration_error(monkeypatch, tmp_path):
    from airflow._shared.module_loading import file_discovery

    monkeypatch.delattr(file_discovery, "_GlobIgnoreRule")
    with pytest.raises(ConfigurationError, match=r"cannot read \.airflowignore files as this Airflow does"):
        check.dag_files([tmp_path], tmp_path)
