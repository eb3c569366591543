"""The codebase's shape: imports point one way, with no cycles, and nothing outside tests/ imports from it.

Read from the source with `ast` (nothing is imported), so a lazy import inside a function counts as much as
one at the top of a module: both are a dependency a newcomer has to know about.

The layers, lowest first (each may import those below it, never those above):

    models/                       the architectures, the shipped files and their cards
    digits/ (all but cli.py)      the reading pipeline, the engine, the Python API
    training/, uplink_server/     training and evaluation; the Uplink server (neither imports the other)
    digits/cli.py                 the command line: the one door onto all of them
    harness/, benchmarks/, scripts/, deploy/    tools around the product (stand-ins, timings, figures)
"""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "digits", "training", "uplink_server", "harness")
TOOLS = ("benchmarks", "scripts", "deploy")  # folders of scripts: they import the packages, nothing imports them
LAYER = {"models": 0, "digits": 1, "training": 2, "uplink_server": 2, "digits.cli": 3, "harness": 4}
NOT_EACH_OTHER = {("training", "uplink_server"), ("uplink_server", "training")}  # nothing serving imports training/


def shown(path: Path) -> Path:
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def module_name(path: Path) -> str:
    parts = list(shown(path).with_suffix("").parts if path.is_relative_to(REPO) else [path.stem])
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files(folders) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py")
                  if "node_modules" not in path.parts)


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved; for
    `from package import name` the name too, as `package.name` (it may be a submodule)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def project_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name that is not a module, like `digits.engine.Engine`,
    is counted as its module)."""
    files = {module_name(path): path for path in source_files(PACKAGES)}
    graph = {}
    for module, path in files.items():
        edges = set()
        for _, name in imported_names(path):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> str:
    return "digits.cli" if module == "digits.cli" else module.split(".")[0]


def test_no_import_cycle_among_the_project_modules():
    assert cycles(project_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_point_down_the_layers():
    wrong = []
    for module, imports in project_graph().items():
        for imported in imports:
            here, there = layer_of(module), layer_of(imported)
            if here != there and (LAYER[there] > LAYER[here] or (here, there) in NOT_EACH_OTHER):
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def modules_in_tests() -> set[str]:
    return {path.stem for path in (REPO / "tests").glob("*.py")}


def imports_of_tests(path: Path) -> list[str]:
    """How `path` reaches into tests/: an import of `tests` or of one of its modules by name, or tests/
    put on sys.path."""
    own_names = {path.stem for folder in PACKAGES for path in (REPO / folder).glob("*.py")} | set(PACKAGES)
    reached = []
    for line, name in imported_names(path):
        top = name.split(".")[0]
        if top == "tests" or (top in modules_in_tests() and top not in own_names and "." not in name):
            reached.append(f"{shown(path)}:{line} imports {name}")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.path.insert", "sys.path.append",
                                                                        "sys.path.extend"):
            changes = node
        elif isinstance(node, (ast.Assign, ast.AugAssign)) and "sys.path" in ast.unparse(node):
            changes = node
        else:
            continue
        if any(isinstance(leaf, ast.Constant) and leaf.value == "tests" for leaf in ast.walk(changes)):
            reached.append(f"{shown(path)}:{node.lineno} puts tests/ on sys.path")
    return reached


def test_nothing_outside_tests_imports_from_tests():
    reached = [line for path in source_files((*PACKAGES, *TOOLS, "anvil_app")) for line in imports_of_tests(path)]
    assert reached == []


@pytest.mark.parametrize("source, expected", [
    ("from upload_files import png\n", "imports upload_files"),
    ("import sys\nsys.path.insert(0, str(REPO / 'tests'))\n", "puts tests/ on sys.path"),
    ("sys.path[:0] = [str(REPO), str(REPO / 'tests')]\n", "puts tests/ on sys.path"),
    ("from tests.upload_files import png\n", "imports tests.upload_files"),
])
def test_the_tests_import_check_finds_each_way_in(tmp_path, source, expected):
    script = tmp_path / "probe.py"
    script.write_text(source)
    assert any(expected in line for line in imports_of_tests(script))
