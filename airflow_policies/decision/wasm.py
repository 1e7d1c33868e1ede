"""The same decision in process: the rules compiled to Wasm by the pinned OPA, run by wasmtime.

Opt-in for the parse-time enforcement points (``engine: wasm``), where a decision in process takes about
a third of the time of one through the OPA server, which decodes the whole input document before the rules
run (``benchmarks/transport.py``). The server-side points always ask the OPA server.

The module is an OPA Wasm bundle (``airflow-policies bundle build --target wasm``): ``/policy.wasm`` (ABI
1) and the bundle's data files. The host parses the input itself rather than through OPA's one-call
``opa_eval``, so it knows the input's address and hands ``json.patch`` the input's own text. The rules need
four built-ins that OPA's Wasm target leaves to the host (:data:`_HOST_BUILTINS`); they follow OPA's own
semantics for what the rules use, and an error in one is an undefined result, as in OPA. The ``engine``
parity test decides every golden input and sample on both engines.
"""

from __future__ import annotations

import ctypes
import datetime
import json
import os
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from airflow_policies.decision.models import Decision, parse_decision
from airflow_policies.document.models import InputDocument, document_json
from airflow_policies.exceptions import ConfigurationError, DecisionError

__all__ = ["WasmEvaluator", "WasmPolicy", "go_sprintf"]

_ENTRYPOINT = "airflow_policies/main/decision"
_PAGE = 65536

_memchr = ctypes.CDLL(None).memchr
_memchr.restype = ctypes.c_void_p
_memchr.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]


def _merge_data(files: dict[str, bytes]) -> dict[str, Any]:
    """The bundle's data document: each ``<path>/data.json`` at its folder's path."""
    data: dict[str, Any] = {}
    for name, content in sorted(files.items()):
        parts = [p for p in name.strip("/").split("/")[:-1] if p]
        target = data
        for part in parts:
            target = target.setdefault(part, {})
        target.update(json.loads(content))
    return data


def _leb128(data: bytes, at: int, *, signed: bool = False) -> tuple[int, int]:
    """The LEB128 number at ``at``, and where the next field starts."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (value - (1 << shift) if signed and byte & 0x40 else value), at


def data_extent(wasm: bytes) -> int:
    """The end of the module's highest active data segment: the memory it needs before its first instruction.

    OPA declares its memory import with a small minimum and places a large policy's static data (every string
    and data constant of the rules) above it, leaving the memory's size to the host, as OPA's own runtime does.

    Raises:
        ConfigurationError: the module is not one this reader understands.
    """
    at, end = 8, 0  # after the magic number and version
    try:
        while at < len(wasm):
            section, at = wasm[at], at + 1
            size, at = _leb128(wasm, at)
            if section == 11:  # the data section
                count, cursor = _leb128(wasm, at)
                for _ in range(count):
                    flags, cursor = _leb128(wasm, cursor)
                    if flags == 2:  # active, explicit memory index
                        _, cursor = _leb128(wasm, cursor)
                    offset = None
                    if flags in (0, 2):
                        if wasm[cursor] != 0x41:  # only i32.const offsets, as OPA emits
                            raise ValueError(f"data segment offset expression 0x{wasm[cursor]:02x}")
                        offset, cursor = _leb128(wasm, cursor + 1, signed=True)
                        cursor += 1  # the expression's end
                    length, cursor = _leb128(wasm, cursor)
                    cursor += length
                    if offset is not None:
                        end = max(end, offset + length)
            at += size
    except (IndexError, ValueError) as exc:
        raise ConfigurationError(f"the Wasm policy's data section cannot be read: {exc}") from None
    return end


def _read_bundle(bundle: Path) -> tuple[bytes, dict[str, Any]]:
    if not bundle.is_file():
        raise ConfigurationError(
            f"the Wasm bundle {bundle} does not exist (airflow-policies bundle build --target wasm)"
        )
    wasm, data_files = None, {}
    with tarfile.open(bundle) as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is None:
                continue
            name = "/" + member.name.lstrip("./")
            if name == "/policy.wasm":
                wasm = extracted.read()
            elif name.endswith("/data.json"):
                data_files[name] = extracted.read()
    if wasm is None:
        raise ConfigurationError(f"{bundle} holds no /policy.wasm: build it with --target wasm")
    return wasm, _merge_data(data_files)


class WasmPolicy:
    """One compiled policy with its data, instantiated once per process.

    Args:
        wasm: the module (``policy.wasm``).
        data: the data document the rules read (registry, rollout, meta).
    """

    def __init__(self, wasm: bytes, data: dict[str, Any]) -> None:
        import wasmtime

        self._wasmtime = wasmtime
        self._engine = wasmtime.Engine()
        self._module = wasmtime.Module(self._engine, wasm)
        self._data = json.dumps(data).encode()
        self._memory_bytes = data_extent(wasm)
        self._instance_and_pid: tuple[_Instance, int] | None = None

    @property
    def _instance(self) -> _Instance:
        # A store per process: the DAG processor forks its parse children from the manager.
        held = self._instance_and_pid
        if held is None or held[1] != os.getpid():
            instance = _Instance(self._wasmtime, self._engine, self._module, self._data, self._memory_bytes)
            held = (instance, os.getpid())
            self._instance_and_pid = held
        return held[0]

    def evaluate(self, input_json: bytes, entrypoint: str = _ENTRYPOINT) -> object:
        """The entrypoint's result set for one input, as OPA's data API would answer (``{"result": ...}``).

        Raises:
            ConfigurationError: the module was not built with this entrypoint.
        """
        results = self._instance.evaluate(input_json, entrypoint)
        if not isinstance(results, list):
            raise DecisionError("the Wasm policy answered something that is not a result set")
        return {"result": results[0]["result"]} if results else {}


class _Export:
    """One exported function of i32 parameters and at most one i32 result, called through wasmtime's
    unchecked C entry point.

    wasmtime-py's ``Func.__call__`` re-reads the function's type and converts every value at each call: 10 us
    a call, where this takes 1.5 us, and a decision makes at least six calls. The private names it uses are
    why pyproject pins wasmtime to one major version.
    """

    def __init__(self, store: Any, func: Any, arity: int) -> None:  # noqa: ANN401 - wasmtime is untyped
        from wasmtime import WasmtimeError, _ffi, _func

        self._store = store
        self._func = ctypes.byref(func._func)
        self._values = (_ffi.wasmtime_val_raw * max(arity, 1))()
        self._call_unchecked = _ffi.wasmtime_func_call_unchecked
        self._enter_wasm = _func.enter_wasm
        self._error = WasmtimeError._from_ptr

    def __call__(self, *args: int) -> int:
        values = self._values
        for index, arg in enumerate(args):
            values[index].i32 = arg
        with self._enter_wasm(self._store) as trap:  # re-raises what a host function raised
            error = self._call_unchecked(self._store._context(), self._func, values, len(values), trap)
            if error:
                raise self._error(error)
        return int(values[0].i32)


class _Instance:
    def __init__(self, wasmtime: Any, engine: Any, module: Any, data: bytes, min_bytes: int) -> None:  # noqa: ANN401 - wasmtime is untyped
        self._store = wasmtime.Store(engine)
        limits = next(i for i in module.imports if i.name == "memory").type.limits
        pages = max(limits.min, -(-min_bytes // _PAGE))
        self._memory = wasmtime.Memory(self._store, wasmtime.MemoryType(wasmtime.Limits(pages, None)))
        i32 = wasmtime.ValType.i32()
        imports = []
        for item in module.imports:
            if item.name == "memory":
                imports.append(self._memory)
            elif item.name == "opa_abort":
                imports.append(wasmtime.Func(self._store, wasmtime.FuncType([i32], []), self._abort))
            elif item.name == "opa_println":
                imports.append(wasmtime.Func(self._store, wasmtime.FuncType([i32], []), lambda _: None))
            else:  # opa_builtin0 .. opa_builtin4: (builtin id, context, args...) -> value
                arity = int(item.name.removeprefix("opa_builtin"))
                imports.append(wasmtime.Func(self._store, wasmtime.FuncType([i32] * (arity + 2), [i32]), self._builtin))
        exports = wasmtime.Instance(self._store, module, imports).exports(self._store)
        abi = exports["opa_wasm_abi_version"]
        if not isinstance(abi, wasmtime.Global) or abi.value(self._store) != 1:
            raise ConfigurationError("the Wasm policy needs OPA's Wasm ABI 1")
        self._exports = {
            export.name: _Export(self._store, exports[export.name], len(export.type.params))
            for export in module.exports
            if isinstance(export.type, wasmtime.FuncType)
        }
        names = json.loads(self._dump(self._call("builtins")))
        self._builtins: dict[int, Callable[..., Any]] = {}
        for name, builtin_id in names.items():
            if name not in _HOST_BUILTINS:
                raise ConfigurationError(
                    f"the Wasm policy needs built-in {name!r}, which airflow-policies does not provide"
                )
            self._builtins[builtin_id] = _HOST_BUILTINS[name]
        # One evaluation context for the instance's life: it sits below the heap base, which every
        # evaluation resets to, and only its input changes.
        self._context = self._call("opa_eval_ctx_new")
        self._call("opa_eval_ctx_set_data", self._context, self._parse(data))
        self._entrypoints: dict[str, int] = json.loads(self._dump(self._call("entrypoints")))
        self._entrypoint = -1
        self._heap_base = self._call("opa_heap_ptr_get")
        self._input: tuple[int, bytes] = (0, b"")
        self._now_ns = 0

    def _call(self, name: str, *args: int) -> int:
        return self._exports[name](*args)

    def _address(self, offset: int, length: int) -> int:
        if offset < 0 or offset + length > self._memory.data_len(self._store):
            raise DecisionError(f"the Wasm policy pointed outside its memory ({offset}+{length})")
        return ctypes.addressof(self._memory.data_ptr(self._store).contents) + offset

    def _string_at(self, offset: int) -> bytes:
        start = self._address(offset, 0)
        end = _memchr(start, 0, self._memory.data_len(self._store) - offset)
        if not end:
            raise DecisionError("the Wasm policy answered a string that does not end in its memory")
        return ctypes.string_at(start, end - start)

    def _dump(self, value: int) -> bytes:
        return self._string_at(self._call("opa_json_dump", value))

    def _write(self, data: bytes, offset: int) -> None:
        ctypes.memmove(self._address(offset, len(data)), data, len(data))

    def _parse(self, data: bytes, offset: int | None = None) -> int:
        if offset is None:
            offset = self._call("opa_malloc", len(data))
        self._write(data, offset)
        value = self._call("opa_json_parse", offset, len(data))
        if value == 0:
            raise DecisionError("the Wasm policy could not parse a JSON value")
        return value

    def _abort(self, address: int) -> None:
        raise DecisionError(f"the Wasm policy aborted: {self._string_at(address).decode(errors='replace')}")

    def _operand(self, value: int) -> Any:  # noqa: ANN401 - JSON
        # json.patch is handed the whole input document: decoded from the text it was parsed from, rather
        # than dumped by the policy (200 us for a 50-task DAG). Values are immutable in an evaluation, so
        # the input's address names the input until the evaluation ends.
        address, text = self._input
        return msgspec.json.decode(text if value == address else self._dump(value))

    def _builtin(self, builtin_id: int, _context: int, *args: int) -> int:
        try:
            operands = [self._operand(a) for a in args]
            result = self._builtins[builtin_id](self, *operands)
        except (ValueError, TypeError, KeyError, IndexError, msgspec.DecodeError):
            return 0  # an error in a built-in makes its expression undefined, as in OPA
        return self._parse(msgspec.json.encode(result))

    def evaluate(self, input_json: bytes, entrypoint: str) -> object:
        entrypoint_id = self._entrypoints.get(entrypoint)
        if entrypoint_id is None:
            raise ConfigurationError(
                f"the Wasm policy has no entrypoint {entrypoint!r} (built with opa build -e {entrypoint})"
            )
        if entrypoint_id != self._entrypoint:
            self._call("opa_eval_ctx_set_entrypoint", self._context, entrypoint_id)
            self._entrypoint = entrypoint_id
        self._now_ns = time.time_ns()  # one clock reading per evaluation, as OPA's time.now_ns
        needed = self._heap_base + len(input_json) + 64 * _PAGE
        if needed > self._memory.data_len(self._store):
            self._memory.grow(self._store, (needed - self._memory.data_len(self._store)) // _PAGE + 1)
        # The text goes right at the heap base and the heap starts after it, so every evaluation starts
        # from the same heap and nothing it allocates is ever freed by hand.
        self._call("opa_heap_ptr_set", self._heap_base + len(input_json))
        self._input = (self._parse(input_json, self._heap_base), input_json)
        try:
            self._call("opa_eval_ctx_set_input", self._context, self._input[0])
            self._call("eval", self._context)
            return json.loads(self._dump(self._call("opa_eval_ctx_get_result", self._context)))
        finally:
            self._input = (0, b"")


def _go_value(value: object) -> str:
    """A value as OPA prints a non-string, non-number operand of sprintf (its Rego term)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_go_value(k)}: {_go_value(v)}" for k, v in sorted(value.items())) + "}"
    raise TypeError(type(value).__name__)


def _go_float(value: float) -> str:
    text = repr(value)  # shortest round-trip digits, as Go's %v
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa.removesuffix('.0')}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text.removesuffix(".0")


def _go_format(verb: str, arg: object) -> str:
    """One operand as Go's fmt prints it, after OPA turned it into a string, an int64 or a float64."""
    if isinstance(arg, bool) or not isinstance(arg, (str, int, float)):
        arg = _go_value(arg)  # OPA passes any other value as its Rego text
    if isinstance(arg, str):
        return arg if verb in ("s", "v") else f"%!{verb}(string={arg})"
    if isinstance(arg, int):
        return str(arg) if verb in ("d", "v") else f"%!{verb}(int64={arg})"
    return _go_float(arg) if verb == "v" else f"%!{verb}(float64={_go_float(arg)})"


def go_sprintf(template: str, args: list[object]) -> str:
    """OPA's ``sprintf`` for the verbs the rules use: ``%s``, ``%v``, ``%d`` and ``%%``."""
    out, index, position = [], 0, 0
    while position < len(template):
        char = template[position]
        if char != "%":
            out.append(char)
            position += 1
            continue
        verb = template[position + 1 : position + 2]
        position += 2
        if verb == "%":
            out.append("%")
            continue
        if verb not in ("s", "v", "d"):
            raise ValueError(f"sprintf verb %{verb} is not supported by the Wasm engine")
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_go_format(verb, args[index]))
        index += 1
    if index < len(args):
        raise ValueError("sprintf got more arguments than verbs")
    return "".join(out)


_GO_LAYOUT = (("2006", "%Y"), ("01", "%m"), ("02", "%d"), ("15", "%H"), ("04", "%M"), ("05", "%S"))


def _parse_ns(_instance: _Instance, layout: str, value: str) -> int:
    for go, strftime in _GO_LAYOUT:
        layout = layout.replace(go, strftime)
    parsed = datetime.datetime.strptime(value, layout).replace(tzinfo=datetime.timezone.utc)
    return (
        (parsed - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc))
        // datetime.timedelta(microseconds=1)
        * 1000
    )


def _json_patch(_instance: _Instance, document: Any, patches: list[dict[str, Any]]) -> Any:  # noqa: ANN401 - JSON
    # The target was just decoded from the policy's memory: patched in place, no copy needed.
    for patch in patches:
        path = patch["path"]
        segments = path if isinstance(path, list) else [p for p in str(path).split("/")[1:]]
        parent: Any = document
        for segment in segments[:-1]:
            parent = parent[int(segment)] if isinstance(parent, list) else parent[segment]
        last = segments[-1]
        op = patch["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op == "add":
                parent.insert(index, patch["value"])
            elif op == "replace":
                parent[index] = patch["value"]
            elif op == "remove":
                del parent[index]
            else:
                raise ValueError(op)
        elif op in ("add", "replace"):
            if op == "replace" and last not in parent:
                raise KeyError(last)
            parent[last] = patch["value"]
        elif op == "remove":
            del parent[last]
        else:
            raise ValueError(op)
    return document


_HOST_BUILTINS: dict[str, Callable[..., Any]] = {
    "sprintf": lambda _instance, template, args: go_sprintf(template, args),
    "time.now_ns": lambda instance: instance._now_ns,
    "time.parse_ns": _parse_ns,
    "json.patch": _json_patch,
}


class WasmEvaluator:
    """Evaluates input documents in process against a Wasm bundle: the same interface as the OPA client.

    Args:
        bundle: the bundle built with ``--target wasm`` (policy.wasm and its data).
    """

    def __init__(self, bundle: Path) -> None:
        self.url = f"wasm:{bundle}"
        wasm, data = _read_bundle(bundle)
        self._policy = WasmPolicy(wasm, data)

    def evaluate(self, document: InputDocument) -> Decision:
        """The decision for ``document``.

        Raises:
            DecisionError: the policy aborted or answered something that is not a decision.
        """
        answer = self._policy.evaluate(document_json(document))
        return parse_decision(answer, source=f"the Wasm policy {self.url}")
