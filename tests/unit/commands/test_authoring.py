"""The Wasm pass of `airflow-policies test` with an OPA built without its Wasm engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_policies.commands.authoring import wasm_test_report
from airflow_policies.exceptions import ConfigurationError


def test_an_opa_without_its_wasm_engine_is_named_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`opa test --target wasm` on such an OPA fails every test with 'engine not found'; the command says why
    before running it, and how to build the OPA it needs or skip the pass."""
    opa = tmp_path / "opa"
    opa.write_text("#!/bin/sh\nprintf 'Version: 1.22.2\\nWebAssembly: unavailable\\n'\n")
    opa.chmod(0o755)
    monkeypatch.setenv("AIRFLOW_POLICIES_OPA_BINARY", str(opa))
    with pytest.raises(ConfigurationError) as raised:
        wasm_test_report(tmp_path)
    assert f"{opa} has no Wasm engine" in str(raised.value)
    assert "go install -tags opa_wasm" in str(raised.value)
    assert "--no-wasm" in str(raised.value)
