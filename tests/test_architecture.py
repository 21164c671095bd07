"""Rules of the code base's shape: sans-I/O cores, pinned public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import eventstream
import sigv4
import streaming

ROOT = Path(__file__).resolve().parent.parent
SANS_IO = ("eventstream", "sigv4")
FORBIDDEN_IMPORTS = {"asyncio", "h2", "websockets", "aiohttp", "socket", "ssl", "threading"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
# The one module allowed to read the environment and files (issue 3).
ENVIRONMENT_READER = ROOT / "sigv4" / "resolve.py"


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", [p for pkg in SANS_IO for p in sources(pkg)], ids=str)
def test_sans_io_cores_import_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    modules = imported_modules(tree)
    assert not modules & FORBIDDEN_IMPORTS
    if path != ENVIRONMENT_READER:
        assert "os" not in modules
        assert "subprocess" not in modules
        assert "configparser" not in modules


@pytest.mark.parametrize("path", [p for pkg in SANS_IO for p in sources(pkg)], ids=str)
def test_sans_io_cores_never_read_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"


def test_sigv4_all_is_pinned() -> None:
    assert set(sigv4.__all__) >= {
        "Credentials",
        "EventSigner",
        "presign_url",
        "resolve_credentials",
        "sign_headers",
        "signature_from_authorization",
        "signature_from_presigned_url",
        "verify_presigned_request",
        "verify_request",
        "ChunkVerifier",
        "VerificationError",
    }
    for name in sigv4.__all__:
        assert hasattr(sigv4, name), name


@pytest.mark.parametrize("package", [eventstream, sigv4, streaming])
def test_every_package_is_typed(package: object) -> None:
    assert (Path(package.__file__).parent / "py.typed").exists()  # type: ignore[attr-defined]
    assert isinstance(package.__all__, list)  # type: ignore[attr-defined]


# -- the streaming package's pure modules and its public surface (issue 9) -----------------------

# The layers that decide: every module of streaming/proto, the job APIs' shapes and wire
# decisions, and the endpoint's pure parts.
PURE_STREAMING = [
    *sorted((ROOT / "streaming" / "proto").glob("*.py")),
    *(ROOT / "streaming" / "jobs" / name for name in ("shapes.py", "calls.py")),
    *(
        ROOT / "streaming" / "local" / name
        for name in (
            "admission.py",
            "streamcore.py",
            "results.py",
            "text.py",
            "numbers.py",
            "analytics.py",
            "voice.py",
            "postcall.py",
            "faults.py",
        )
    ),
]
IO_IMPORTS = {"asyncio", "socket", "ssl", "h2", "websockets", "aiohttp", "threading", "selectors", "time", "os"}
BUILTIN_ERRORS = {"ValueError", "RuntimeError", "OverflowError", "TypeError", "KeyError", "IndexError", "Exception"}


@pytest.mark.parametrize("path", PURE_STREAMING, ids=lambda p: str(p.relative_to(ROOT)))
def test_streaming_decisions_are_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert not imported_modules(tree) & IO_IMPORTS
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "random":
            assert node.attr == "Random", f"{path.name}:{node.lineno} uses the global random source"


def test_only_the_command_line_imports_the_endpoint() -> None:
    # The face layer (streaming/cli) alone imports streaming.local; the endpoint itself may.
    allowed = (ROOT / "streaming" / "cli", ROOT / "streaming" / "local")
    for path in sources("streaming"):
        if any(folder in path.parents for folder in allowed):
            continue
        for module in _imports_anywhere(path):
            assert not module.startswith("streaming.local"), f"{path.name} imports the local endpoint ({module})"


# Which layer may import which: a layer imports those below it, never those above.
LAYERS = {
    "streaming.proto": {"streaming.proto"},
    "streaming.aio": {"streaming.proto", "streaming.aio"},
    "streaming.jobs": {"streaming.proto", "streaming.aio", "streaming.jobs"},
    "streaming.local": {"streaming.proto", "streaming.aio", "streaming.local", "streaming.data"},
    "streaming.web": {"streaming.proto", "streaming.aio", "streaming.web", "streaming.data"},
    "streaming.cli": {"streaming.proto", "streaming.aio", "streaming.jobs", "streaming.local", "streaming.cli",
                      "streaming.data", "streaming.web"},
}  # fmt: skip


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    folder = ROOT / layer.replace(".", "/")
    for path in sorted(folder.glob("*.py")):
        for module in _imports_anywhere(path):
            if module.startswith("streaming.") and module.count(".") >= 1:
                target = ".".join(module.split(".")[:2])
                if target == "streaming._lazy":  # the package faces' helper
                    continue
                assert target in LAYERS[layer], f"{path.relative_to(ROOT)} imports {module} (layer {target})"


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` names, inside ``package``."""
    base = node.module or ""
    if not node.level:
        return base
    anchor = package.split(".")
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, base] if base else anchor)


def _imports_anywhere(path: Path) -> set[str]:
    """Every project module ``path`` imports, at the top or inside a function (resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


# -- size: modules a reader can hold in their head (issue 17) ------------------------------------

PRODUCT = [p for pkg in ("eventstream", "sigv4", "streaming") for p in sources(pkg)]


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_module_is_over_600_lines_nor_any_function_over_80(path: Path) -> None:
    text = path.read_text()
    assert text.count("\n") <= 600, f"{path.relative_to(ROOT)} has {text.count(chr(10))} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            assert length <= 80, f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {length} lines"


def test_the_stream_core_keeps_orchestration_only() -> None:
    tree = ast.parse((ROOT / "streaming" / "proto" / "core.py").read_text())
    (core,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "StreamCore"]
    assert core.end_lineno - core.lineno + 1 < 300  # type: ignore[operator]


@pytest.mark.parametrize(
    "path", [p for p in sources("streaming") if (ROOT / "streaming" / "local") not in p.parents], ids=str
)
def test_the_public_api_raises_only_its_own_errors(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
            assert node.exc.func.id not in BUILTIN_ERRORS, f"{path.name}:{node.lineno} raises {node.exc.func.id}"


def test_every_public_error_is_a_transcribe_error_and_exported() -> None:
    import streaming.proto.errors as errors

    defined = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == errors.__name__
    ]
    assert len(defined) > 20
    for cls in defined:
        assert issubclass(cls, errors.TranscribeError), cls
        assert cls.__name__ in errors.__all__, cls
    for name in streaming.__all__:
        value = getattr(streaming, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, streaming.TranscribeError), name
    exported = {name for name in streaming.__all__ if isinstance(getattr(streaming, name), type)}
    for cls in defined:
        assert cls.__name__ in exported, f"{cls.__name__} is not exported from streaming"
    assert {"StreamReconnected", "UnknownEvent", "TranscriptEvent", "UtteranceEvent", "CategoryEvent"} <= exported


def test_every_package_pins_all() -> None:
    for package in (eventstream, sigv4, streaming):
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.{name}"


def test_start_methods_take_exactly_the_parameter_table() -> None:
    import inspect

    from streaming.proto.params import PARAMETERS, Operation

    client = streaming.TranscribeStreamingClient
    methods = {
        Operation.TRANSCRIPTION: client.start_stream_transcription,
        Operation.MEDICAL: client.start_medical_stream_transcription,
        Operation.CALL_ANALYTICS: client.start_call_analytics_stream_transcription,
    }
    configuration_only = {"channel_definitions", "post_call_analytics_settings"}  # in the ConfigurationEvent
    for operation, method in methods.items():
        taken = {
            name for name, p in inspect.signature(method).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        table = {p.name for p in PARAMETERS if operation in p.operations}
        assert taken - configuration_only == table, operation


def test_the_h2_hook_the_endpoint_overrides_still_exists() -> None:
    import h2
    import h2.connection

    # streaming.local.h2server overrides this private method; pyproject pins h2 < 5.
    assert int(h2.__version__.split(".")[0]) == 4
    assert callable(getattr(h2.connection.H2Connection, "_receive_goaway_frame", None))


async def test_the_websockets_internals_the_send_hot_path_uses_still_exist() -> None:
    """WebSocketTransport.send_now frames with websockets' sans-I/O protocol (public) but
    writes with ``send_data()`` and checks ``send_in_progress`` (not public: added in 16,
    absent in 15). pyproject pins the versions the suite runs on; this notices them going."""
    import re
    import tomllib

    import websockets
    from websockets.asyncio.client import ClientConnection
    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = next(d for d in project["dependencies"] if d.startswith("websockets"))
    found = re.fullmatch(r"websockets>=([\d.]+),<(\d+)", pinned)
    assert found, f"websockets must be pinned to a tested range, not {pinned!r}"
    low = tuple(int(x) for x in found[1].split("."))
    version = tuple(int(x) for x in websockets.__version__.split(".")[:2])
    assert low <= version < (int(found[2]),), (pinned, websockets.__version__)
    assert callable(getattr(ClientConnection, "send_data", None))
    connection = ClientConnection(ClientProtocol(parse_uri("ws://127.0.0.1/")))
    assert connection.send_in_progress is None


# -- what importing loads, and the import graph (issue 17) ------------------------------------------

# The layers that decide (pure) must load no I/O library, whatever imports them: each is
# imported alone in a fresh interpreter and sys.modules is read.
PURE_MODULES = [
    "streaming",
    *sorted(f"streaming.proto.{p.stem}" for p in (ROOT / "streaming" / "proto").glob("*.py") if p.stem != "__init__"),
    "streaming.proto",
    "streaming.aio",  # the shell's package loads nothing until a name is used
    "streaming.jobs",
    "streaming.jobs.shapes",
    "streaming.jobs.calls",
    "streaming.local",
    *(
        f"streaming.local.{name}"
        for name in (
            "admission",
            "streamcore",
            "lifecycle",
            "results",
            "text",
            "numbers",
            "analytics",
            "voice",
            "postcall",
            "faults",
            "resources",
            "jobstore",
            "worker",
        )
    ),
    "streaming.web",  # the web-app kit's face loads no web framework
    "streaming.web.limits",
    "streaming.web.presign",  # its decision is pure; aiohttp loads only when its adapter is made
    "streaming.cli",  # the command line loads what a subcommand needs, when it runs
    "streaming.cli.parser",
    "streaming.cli.display",
    "eventstream",
    "sigv4",
]
IO_LIBRARIES = ("asyncio", "ssl", "h2", "websockets", "httpx", "aiohttp")


def test_pure_modules_load_no_io_library_in_a_fresh_interpreter() -> None:
    import json
    import subprocess
    import sys

    probe = (
        "import importlib, json, sys\n"
        "importlib.import_module(sys.argv[1])\n"
        f"print(json.dumps(sorted(m for m in {IO_LIBRARIES!r} if m in sys.modules)))\n"
    )
    # One interpreter per module (unloading modules in one would re-create msgspec
    # classes and types that other modules already hold); they run side by side.
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", probe, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        for name in PURE_MODULES
    }
    loaded = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"importing {name} failed: {err}"
        loaded[name] = json.loads(out)
    assert {name: libraries for name, libraries in loaded.items() if libraries} == {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(path: Path, *, for_type_checkers: bool = False) -> set[str]:
    """Project modules ``path`` imports when it is imported (not in functions; the imports
    only for type checkers too when ``for_type_checkers``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                if for_type_checkers:
                    visit(node.body)
                continue
            if isinstance(node, ast.If | ast.Try):
                visit(node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, package)
                if node.module:  # "from . import x" imports x, not the package being built
                    found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)

    visit(tree.body)
    return found


@pytest.mark.parametrize("for_type_checkers", [False, True], ids=["at-import", "also-for-type-checkers"])
def test_no_import_cycle_anywhere(for_type_checkers: bool) -> None:
    paths = [p for pkg in ("eventstream", "sigv4", "streaming") for p in sources(pkg)]
    modules = {_module_name(p): p for p in paths}
    graph = {
        name: {
            m
            for m in _top_level_imports(path, for_type_checkers=for_type_checkers)
            if m in modules
            and m != name
            # a lazy package face names its submodules for type checkers only: not an import
            and not (for_type_checkers and path.name == "__init__.py" and m.startswith(f"{name}."))
        }
        for name, path in modules.items()
    }
    # A package's __init__ importing its own submodules is how packages work; an edge back
    # from a submodule to its package is then only a cycle if the package imports it.
    cycles = []
    state: dict[str, int] = {}

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target] if target in trail else [node, target])
            elif target not in state:
                walk(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []


@pytest.mark.parametrize(
    "path", [p for p in sources("streaming") if p.name != "__init__.py"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_a_module_exports_only_what_it_defines(path: Path) -> None:
    """Only the package faces (``__init__.py``) re-export; a module's ``__all__`` names its own."""
    tree = ast.parse(path.read_text())
    imported = {
        alias.asname or alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    exported = [
        element.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for element in node.value.elts  # type: ignore[attr-defined]
    ]
    assert [name for name in exported if name in imported] == []
