"""The README tells the truth: its options table is the one OPTIONS_DOC renders."""

from __future__ import annotations

from pathlib import Path

from targetkit.options import options_markdown

README = Path(__file__).parent.parent / "README.md"
START, END = "<!-- options-table:start -->", "<!-- options-table:end -->"


def test_readme_options_table_is_current() -> None:
    text = README.read_text()
    table = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == options_markdown(), (
        "README options table is stale: regenerate it with "
        "python -c 'from targetkit.options import options_markdown; print(options_markdown())'"
    )
