"""The tree shows the pipeline: a thin top over four packages, and imports that run one way.

Layers, lowest first: the shared base (errors, model, atomic, ffmpeg, cache), then `text`,
`speech`, `audio`, `publish`, then the top that wires them (config, pipeline, report, cli,
doctor, lint, watch). A module may import its own layer and those below; nothing imports
`cli`. Every import counts, also those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "narrator"
BASE = {"errors", "model", "atomic", "ffmpeg", "cache"}
STAGES = ("text", "speech", "audio", "publish")  # lowest first
TOP = {"config", "pipeline", "report", "cli", "doctor", "lint", "watch"}


def _layer(module: str) -> int:
    """0 for the base, 1-4 for the stages in pipeline order, 5 for the top."""
    parts = module.split(".")
    if parts[0] != "narrator" or len(parts) == 1:
        return 0  # `narrator` itself: its version
    name = parts[1]
    if name in BASE or name == "__init__":
        return 0
    if name in STAGES:
        return 1 + STAGES.index(name)
    assert name in TOP | {"__main__"}, f"narrator.{name} belongs to no layer: add it to one"
    return 5


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from narrator.speech import registry` imports narrator.speech.registry
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "narrator"}


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
    }


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_from_higher_layers_to_lower(module: str) -> None:
    importer = _layer(module)
    upward = [
        name
        for name in sorted(_imports(MODULES[module]))
        if name in MODULES
        or name.rsplit(".", 1)[0] in MODULES
        or name in {f"narrator.{s}" for s in STAGES}
        if _layer(name) > importer
    ]
    assert not upward, f"{module} (layer {importer}) imports higher layers: {upward}"


def test_nothing_imports_the_command_line() -> None:
    importers = [m for m, path in MODULES.items() if "narrator.cli" in _imports(path)]
    assert importers == ["narrator.__main__"]


def test_a_dozen_top_level_modules_and_four_packages() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(top) <= 12, top
    assert set(top) == BASE | TOP
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(STAGES)


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The check can fail: a text module importing speech is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from narrator.speech.pool import Voice\n", encoding="utf-8")
    assert {_layer(name) for name in _imports(bad)} == {2}
    assert _layer("narrator.text.markup") == 1
