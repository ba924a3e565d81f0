"""The shape of helpers/: layers without cycles, modules that must not start TensorFlow, and short functions.

Imports are read from the source (every import statement, also those inside functions), so a cycle hidden in a
function body fails here, not at some later run."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    {"backend", "config", "stats", "bandit", "buffer"},
    {"envs", "algorithms", "notebook", "overestimation", "cli"},
    {"evaluation", "noise", "networks", "group", "records"},
    {"plots", "reference", "video", "agent"},
    {"td3", "dqn", "pitfalls", "exercises"},
    {"checkpoint"},
    {"loop"},
    {"experiments", "train", "locomotion"},
    {"tools"},
]
"""helpers' modules from the bottom up: a module imports only from its own layer or the ones below it."""

TF_FREE = ["config", "algorithms", "records", "cli", "stats", "plots", "buffer", "envs", "noise", "notebook", "train"]
"""Modules that import without TensorFlow (``train``: until its arguments are checked)."""

MAX_LINES = 50


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT / "helpers").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every helpers module (``agent``, ``tools.benchmark``) -> the helpers modules it imports anywhere."""
    graph = {}
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found |= {f"{node.module}.{a.name}" for a in node.names} if node.module == "helpers" else {node.module}
        graph[module_name(path)] = {m.removeprefix("helpers.") for m in found if m.startswith("helpers.")}
    graph.pop("", None)  # the package's __init__: every module sits under it
    return {m: deps - {m} for m, deps in graph.items()}


def layer_of(module: str) -> int:
    top = "tools" if module.startswith("tools") else module
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_the_algorithm_table_names_agents_below_the_loop():
    """``helpers.algorithms`` imports its agents by name (importlib), out of the static graph's sight."""
    from helpers.algorithms import ALGORITHMS

    for algorithm in ALGORITHMS.values():
        module = algorithm.agent.split(":")[0].removeprefix("helpers.")
        assert layer_of(module) < layer_of("loop"), algorithm


def test_every_module_has_a_layer():
    unplaced = [m for m in imports() if not any((m.split(".")[0]) in layer for layer in LAYERS)]
    assert not unplaced, f"add these modules to a layer in LAYERS: {unplaced}"


def test_modules_import_only_from_their_layer_or_below():
    upward = [f"{m} imports {d}" for m, deps in imports().items() for d in deps if layer_of(d) > layer_of(m)]
    assert not upward, upward


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return path[path.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(imports())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_light_modules_do_not_start_tensorflow():
    code = ("import sys\n" + "".join(f"import helpers.{m}\n" for m in TF_FREE)
            + "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"importing {TF_FREE} started {result.stdout.strip()}"


def body_lines(node) -> int:
    """Lines of a function from its ``def`` to its end, its docstring not counted."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_no_function_in_helpers_is_longer_than_the_limit():
    long = [f"{path.relative_to(ROOT)}: {node.name} has {body_lines(node)} lines"
            for path in sorted((ROOT / "helpers").rglob("*.py"))
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and body_lines(node) > MAX_LINES]
    assert not long, f"split these functions (at most {MAX_LINES} lines, docstring aside): {long}"
