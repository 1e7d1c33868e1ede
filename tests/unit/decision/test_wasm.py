"""The host side of the Wasm engine: the built-ins OPA's Wasm target leaves to the host, and the bundle's data.

The expected texts are what the pinned OPA's own ``sprintf`` and ``time.parse_ns`` answer for the same
operands (``opa eval``); tests/integration/test_engines.py compares whole decisions on both engines.
"""

from __future__ import annotations

import pytest

from airflow_policies.decision.wasm import _json_patch, _merge_data, _parse_ns, data_extent, go_sprintf
from airflow_policies.exceptions import ConfigurationError


@pytest.mark.parametrize(
    ("template", "args", "text"),
    [
        (
            "%v|%s|%d|%v|%v|%%|%v",
            [["a", "b"], "s", 3, None, 1.5, {"k": [1, "x"]}],
            '["a", "b"]|s|3|null|1.5|%|{"k": [1, "x"]}',
        ),
        ("%v", [True], "true"),
        ("%s", [2], "%!s(int64=2)"),
        ("%d", [True], "%!d(string=true)"),
        ("%v", [1e21], "1e+21"),
        ("%s", [1.5], "%!s(float64=1.5)"),
        ("task '%s' on %v", ["t"], "task 't' on %!v(MISSING)"),
    ],
)
def test_sprintf_prints_as_opa_does(template, args, text):
    """Strings as they are, numbers as Go prints int64 / float64, anything else as its Rego text."""
    assert go_sprintf(template, args) == text


def test_sprintf_refuses_a_verb_it_does_not_know():
    """An unsupported verb is an error (the expression is then undefined), never a wrong text."""
    with pytest.raises(ValueError, match="%x"):
        go_sprintf("%x", [1])


def test_parse_ns_of_a_date_layout():
    """2030-06-30 at midnight UTC, in nanoseconds, as OPA's time.parse_ns answers."""
    assert _parse_ns(None, "2006-01-02", "2030-06-30") == 1909008000000000000
    with pytest.raises(ValueError, match="does not match format"):
        _parse_ns(None, "2006-01-02", "not a date")


def test_json_patch_adds_and_replaces_by_array_path_and_pointer():
    document = {"dag": {"tags": []}, "tasks": [{"queue": "default"}, {"queue": "x"}]}
    patched = _json_patch(
        None,
        document,
        [
            {"op": "add", "path": ["tasks", 0, "queue"], "value": "team_a"},
            {"op": "add", "path": "/dag/tags", "value": ["team:team_a"]},
            {"op": "remove", "path": ["tasks", 1]},
        ],
    )
    assert patched == {"dag": {"tags": ["team:team_a"]}, "tasks": [{"queue": "team_a"}]}
    with pytest.raises(KeyError):
        _json_patch(None, {"a": {}}, [{"op": "replace", "path": "/a/missing", "value": 1}])


def test_bundle_data_files_are_merged_at_their_folder_paths():
    files = {"/data.json": b'{"top": 1}', "/airflow_policies/registry/data.json": b'{"teams": {}}'}
    assert _merge_data(files) == {"top": 1, "airflow_policies": {"registry": {"teams": {}}}}


def _section(section_id: int, body: bytes) -> bytes:
    return bytes([section_id, len(body)]) + body


def test_the_memory_a_module_needs_is_the_end_of_its_highest_active_data_segment():
    """OPA places a large policy's constants above its declared minimum memory; the engine sizes the memory from
    the data section (an active segment at 1024 + 3 bytes, a passive one that needs no memory, an explicit index)."""

    segments = (
        b"\x03"
        + b"\x00\x41\x80\x08\x0b\x03abc"  # active, i32.const 1024
        + b"\x01\x02xy"  # passive
        + b"\x02\x00\x41\x10\x0b\x01z"  # active, memory 0, i32.const 16
    )
    module = b"\0asm\x01\0\0\0" + _section(1, b"\x00") + _section(11, segments)
    assert data_extent(module) == 1027
    assert data_extent(b"\0asm\x01\0\0\0") == 0


def test_a_data_section_it_cannot_read_is_a_configuration_error():

    with pytest.raises(ConfigurationError, match="data section cannot be read"):
        data_extent(b"\0asm\x01\0\0\0" + _section(11, b"\x01\x00\x23\x00\x0b\x01a"))  # global.get offset
    with pytest.raises(ConfigurationError, match="data section cannot be read"):
        data_extent(b"\0asm\x01\0\0\0\x0b\x05\x01\x00\x41")  # cut short
