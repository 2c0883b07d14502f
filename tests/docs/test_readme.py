"""The README is a front door: short, the two set-up commands first, the REST upload field named, a row per
shipped model linked to its card, and none of the project's internal names (here or in the docs)."""

from __future__ import annotations

import re

from doc_blocks import ROOT, doc_files

README = ROOT / "README.md"
# Names a user cannot know: the project's own seeds, issues, zoo rows and GPU-transfer plumbing.
INTERNAL = re.compile(
    r"\bseed[ -]?0\d\d\b|\bissues? ?#?\d+\b|\bzoo\b|device[ _-]bundle|device tool|64 MiB", re.IGNORECASE
)


def test_readme_is_short():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 150
    assert len(text) < 12_000


def test_readme_starts_with_the_two_setup_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    fence = lines.index("```bash")
    assert lines[fence + 1].startswith("bash scripts/demo.sh ")
    assert lines[fence + 2].startswith("bash scripts/test.sh ")
    assert fence < 4  # right under the title


def test_readme_names_the_rest_upload_field_the_api_reads():
    import inspect

    from ferkit.web.routes import photos, videos

    text = README.read_text(encoding="utf-8")
    for handler in (photos.predict, videos.predict_video):
        assert "file" in inspect.signature(handler).parameters  # the form field the API reads
    assert "form field `file`" in text and "-F file=@" in text


def test_readme_lists_every_shipped_model_with_its_card():
    from ferkit import pretrained

    text = README.read_text(encoding="utf-8")
    for name in pretrained.available():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row, name
        assert f"(src/ferkit/pretrained/{name}.md)" in row, row
        assert (ROOT / "src" / "ferkit" / "pretrained" / f"{name}.md").is_file()


def test_readme_links_resolve():
    text = README.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target


def test_no_internal_names_in_readme_or_docs():
    found = []
    for path in doc_files():
        if path.parent.name == "pretrained" or "lab" in path.relative_to(ROOT).parts:
            continue  # model cards and the lab's records are not this test's
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if INTERNAL.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
