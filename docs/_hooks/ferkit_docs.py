"""MkDocs hooks of ferkit's documentation site (``mkdocs.yml: hooks``).

Pages that must never drift from the code are made at build time, not typed:
- ``reference/cli.md``: every ``ferkit`` command, argument and default, read from ``ferkit.cli.main``'s argparse
  parser and its sub-parsers;
- ``models/<name>.md`` (and their figures): the model cards shipped in ``src/ferkit/pretrained/``, included as they
  are, so the site and the package show the same card.
The lab's result records (``lab/results/``) are not served: they are lab notes, indexed in the repository.
Nav entries listed under ``extra.optional_pages`` are dropped while their file does not exist (pages other
changes add), so ``mkdocs build --strict`` still fails on any other missing page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CARDS = ROOT / "src" / "ferkit" / "pretrained"
CARD_SUFFIXES = (".md", ".png")


# ---------------------------------------------------------------- CLI reference from the argparse parsers


def _escape(text: str) -> str:
    """Plain text for a Markdown table cell: no pipes, no HTML, no accidental emphasis, one line."""
    text = " ".join(text.split())
    for char, repl in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("*", "\\*")):
        text = text.replace(char, repl)
    return text


def _code(text: str) -> str:
    """Inline code that survives backticks and pipes inside a table."""
    text = " ".join(text.split()).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """(name, parser, one-line help) of each sub-command, in the parser's order (aliases once)."""
    found, seen = [], set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    found.append((name, sub, helps.get(name, "")))
    return found


def _argument_row(parser: argparse.ArgumentParser, action: argparse.Action) -> str | None:
    if action.help == argparse.SUPPRESS or isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
        return None
    formatter = parser._get_formatter()
    if action.option_strings:
        takes = action.nargs != 0
        metavar = formatter._format_args(action, action.dest.upper()) if takes else ""
        names = ", ".join(f"{s} {metavar}".strip() for s in action.option_strings)
    else:
        names = formatter._format_args(action, action.dest)
    help_text = formatter._expand_help(action) if action.help else ""
    default = action.default
    if default is None or default is argparse.SUPPRESS or action.nargs == 0 or default == []:
        shown = ""  # no default, or a switch (its default is simply "off")
    else:
        shown = _code(default if isinstance(default, str) else repr(default))
    if action.required and action.option_strings:
        shown = "required"
    return f"| {_code(names)} | {shown} | {_escape(help_text)} |"


def _parser_section(parser: argparse.ArgumentParser, title: str, help_line: str, depth: int) -> list[str]:
    lines = [f"{'#' * depth} {title}", ""]
    text = parser.description or help_line
    if text:
        lines += [_escape(text), ""]
    usage = parser.format_usage().removeprefix("usage:").strip()
    lines += [f"Usage: {_code(usage)}", ""]
    for group in parser._action_groups:
        rows = [row for row in (_argument_row(parser, a) for a in group._group_actions) if row]
        if rows:
            lines += [
                f"**{_escape((group.title or 'arguments').capitalize())}**",
                "",
                "| argument | default | meaning |",
                "|---|---|---|",
                *rows,
                "",
            ]
    if parser.epilog:
        lines += [_escape(parser.epilog), ""]
    for _name, sub, sub_help in _subcommands(parser):
        lines += _parser_section(sub, f"`{sub.prog}`", sub_help, min(depth + 1, 4))
    return lines


def cli_reference_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The CLI reference page: the top-level parser, then every sub-command, each argument with its default."""
    if parser is None:
        from ferkit.cli.main import build_parser

        parser = build_parser()
    commands = ", ".join(f"[`{name}`](#{sub.prog.replace(' ', '-')})" for name, sub, _ in _subcommands(parser))
    head = [
        "# Command-line reference",
        "",
        "Generated from the argument parsers of `ferkit.cli.main` when the site is built, so it matches the "
        "installed version; `ferkit COMMAND --help` prints the same.",
        "",
        f"Commands: {commands}.",
        "",
    ]
    body = _parser_section(parser, "`ferkit`", "", 2)
    return "\n".join(head + body) + "\n"


# ---------------------------------------------------------------- MkDocs hooks


def _drop_absent(nav, docs_dir: Path, optional: set[str]):
    """The nav without the optional pages whose file is absent (and without sections left empty)."""
    if isinstance(nav, list):
        kept = [item for item in (_drop_absent(i, docs_dir, optional) for i in nav) if item is not None]
        return kept or None
    if isinstance(nav, dict):
        ((title, value),) = nav.items()
        value = _drop_absent(value, docs_dir, optional)
        return None if value is None else {title: value}
    if isinstance(nav, str) and nav in optional and not (docs_dir / nav).is_file():
        return None
    return nav


def on_config(config, **kwargs):
    """Make ferkit importable from this checkout's src/ (the CLI reference), and drop absent optional pages."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    optional = set(config.extra.get("optional_pages", []) or [])
    if config.nav and optional:
        config.nav = _drop_absent(config.nav, Path(config.docs_dir), optional) or []
    return config


def _mount(files, config, folder: Path, prefix: str, suffixes: tuple[str, ...] | None = None) -> None:
    """Serve every file under ``folder`` (of the given suffixes) at ``prefix/<relative path>`` of the site."""
    from mkdocs.structure.files import File

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if suffixes is None or path.suffix in suffixes:
            uri = f"{prefix}/{path.relative_to(folder).as_posix()}"
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, abs_src_path=str(path)))


def on_files(files, config, **kwargs):
    """Add the generated CLI reference and the shipped model cards."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, "reference/cli.md", content=cli_reference_markdown()))
    _mount(files, config, CARDS, "models", CARD_SUFFIXES)
    return files
