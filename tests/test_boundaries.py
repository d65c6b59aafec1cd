"""The rooms keep to their doors: bot/ uses only retrieval's public names, retrieval knows
nothing of the bot or Telegram, and no module grows past what one can read at a sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import retrieval

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _imports(folder: str) -> list[tuple[Path, str, list[str]]]:
    """(file, module, names) of every import in the folder's Python files."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(path, a.name, []) for a in node.names]
    return found


def test_bot_imports_only_retrievals_public_names() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}: {module} {names}"
        for path, module, names in _imports("bot")
        if module.startswith("retrieval")
        and (module != "retrieval" or not set(names) <= set(retrieval.__all__))
    ]
    assert wrong == []


def test_retrieval_knows_nothing_of_the_bot_or_telegram() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}: {module}"
        for path, module, _ in _imports("retrieval")
        if module.split(".")[0] in ("bot", "telegram")
    ]
    assert wrong == []


def test_public_names_exist() -> None:
    assert all(hasattr(retrieval, name) for name in retrieval.__all__)


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        # A compiled loop says why it is long in its first comment line.
        and "# long:" not in ast.get_source_segment(path.read_text(encoding="utf-8"), node)
    ]


def test_modules_and_functions_stay_readable() -> None:
    files = [p for folder in ("bot", "retrieval") for p in (ROOT / folder).rglob("*.py")]
    too_long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in files
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert too_long == []
    assert [f for p in files for f in _long_functions(p)] == []
