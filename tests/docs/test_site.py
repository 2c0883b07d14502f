"""The documentation site: it builds with `mkdocs build --strict`, its CLI reference covers every command and
argument of the parsers, its model cards are the shipped ones, and the nav drops only absent optional pages."""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

import pytest
from doc_blocks import ROOT

HOOKS = ROOT / "docs" / "_hooks" / "ferkit_docs.py"


def _hooks():
    spec = importlib.util.spec_from_file_location("ferkit_docs_hooks", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(html_file: Path) -> str:
    return re.sub(r"<[^>]+>", " ", html_file.read_text(encoding="utf-8"))


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_cli_reference_names_every_command_and_option():
    from ferkit.cli.main import build_parser

    page = _hooks().cli_reference_markdown(build_parser())
    missing = []
    for parser in _parsers(build_parser()):
        if f"## `{parser.prog}`" not in page:
            missing.append(parser.prog)
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            for option in action.option_strings:
                if not re.search(rf"`[^`]*(?<![\w-]){re.escape(option)}(?![\w-])[^`]*`", page):
                    missing.append(f"{parser.prog} {option}")
    assert not missing, missing


def test_cli_reference_shows_defaults_and_choices():
    parser = argparse.ArgumentParser(prog="tool", description="A tool.")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run it", description="Run | it <now>.")
    run.add_argument("inputs", nargs="+", help="files")
    run.add_argument("--mode", choices=["fast", "slow"], default="fast", help="how (default %(default)s)")
    run.add_argument("--count", type=int, default=0, help="times")
    run.add_argument("--dry-run", action="store_true", help="only say what would run")
    page = _hooks().cli_reference_markdown(parser)
    assert "### `tool run`" in page
    assert r"Run \| it &lt;now&gt;." in page  # table-safe text
    assert "| `--mode {fast,slow}` | `fast` | how (default fast) |" in page
    assert "| `--count COUNT` | `0` | times |" in page  # a zero default is still a default
    assert "| `--dry-run` |  | only say what would run |" in page  # a switch has no default to show
    assert "| `inputs [inputs ...]` |  | files |" in page


def test_optional_nav_pages_are_dropped_only_while_absent(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "present.md").write_text("# here\n")
    nav = [
        {"Home": "index.md"},
        {"Guide": [{"Present": "guide/present.md"}, {"Later": "guide/later.md"}]},
        {"Only later": [{"Later too": "guide/later2.md"}]},
    ]
    optional = {"guide/present.md", "guide/later.md", "guide/later2.md"}
    kept = _hooks()._drop_absent(nav, tmp_path, optional)
    assert kept == [{"Home": "index.md"}, {"Guide": [{"Present": "guide/present.md"}]}]
    # a page that is not optional stays in the nav, so a strict build still reports it missing
    assert _hooks()._drop_absent(["missing.md"], tmp_path, optional) == ["missing.md"]


@pytest.mark.slow
def test_site_builds_strictly_with_every_section(built_site):
    pages = {
        "index.html": "How a frame becomes labels",
        "guide/web/index.html": "form field",
        "guide/serving/index.html": "--allowed-host",
        "reference/cli/index.html": "ferkit predict",
        "reference/api/index.html": "predict_video",
        "research/training/index.html": "Distillation",
    }
    for page, phrase in pages.items():
        path = built_site / page
        assert path.is_file(), page
        assert phrase in _text(path), f"{page} lacks {phrase!r}"
    api = _text(built_site / "reference/api/index.html")
    for name in (
        "EmotionRecognizer",
        "FaceResult",
        "FrameResult",
        "TrackSummary",
        "create_detector",
        "create_model",
        "load_model",
        "create_app",
    ):
        assert name in api, name
    assert (built_site / "search" / "search_index.json").is_file()


@pytest.mark.slow
def test_model_cards_are_the_shipped_ones(built_site):
    cards = sorted((ROOT / "src" / "ferkit" / "pretrained").glob("*.md"))
    assert cards
    for card in cards:
        page = built_site / "models" / card.stem / "index.html"
        assert page.is_file(), card.name
        first_line = card.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").replace("`", "")
        assert " ".join(first_line.split()) in " ".join(_text(page).split()), card.name
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", card.read_text(encoding="utf-8")):
            assert (built_site / "models" / image).is_file(), f"{card.name}: {image}"
