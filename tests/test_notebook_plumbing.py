"""Notebooks read as lessons: test machinery and figure styling stay out of the code a learner reads.

Plumbing is counted per non-blank code line: a line with an nbval marker (or a comment about one), and a
line that builds or styles a figure (`go.`, `add_trace`/`add_*`, `make_subplots`, `update_layout`/axes,
`template`, `height=`, `margin=`, `legend`, `font=`, axis settings, `colorscale`, `marker=`, `mode=`,
`hovertemplate`, `fig.`/`figure.`). Such code belongs in `resnet_lab.course.figures`; nbval's markers
are cell tags (`nbval-ignore-output`), which nbval reads from the cell's metadata.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_SHARE = 0.10

NBVAL = re.compile(r"NBVAL_|nbval", re.IGNORECASE)
FIGURE = re.compile(
    r"\bgo\.|\.add_\w+\(|\bmake_subplots\b|\.update_(layout|xaxes|yaxes|traces)\b|\btemplate\b|\bheight=|\bmargin="
    r"|legend|\bfont=|\b[xy]axis\w*\s*=|\b[xy]axis_\w+|colorscale|\bmarker=|\bmode=|hovertemplate|\bfig\.|\bfigure\."
)


def plumbing_lines(source: str) -> tuple[list[str], int]:
    """(the plumbing lines, the number of non-blank lines) of one cell's code."""
    lines = [line for line in source.splitlines() if line.strip()]
    found = []
    for i, line in enumerate(lines):
        explains_marker = i > 0 and NBVAL.search(lines[i - 1]) and line.lstrip().startswith("#")
        if NBVAL.search(line) or explains_marker or FIGURE.search(line):
            found.append(line)
    return found, len(lines)


def plumbing_share(path: Path) -> tuple[int, int]:
    """(plumbing lines, non-blank code lines) of a notebook."""
    plumbing = total = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            found, lines = plumbing_lines(cell.source)
            plumbing, total = plumbing + len(found), total + lines
    return plumbing, total


def test_plumbing_counter_sees_markers_and_styling():
    found, total = plumbing_lines(
        '# NBVAL_IGNORE_OUTPUT\nfigure = go.Figure()\nfigure.update_layout(height=300, template="plotly_white")\n\n'
        "losses = train(net)\nshow(line_chart(losses))\n"
    )
    assert (len(found), total) == (3, 5)


def test_plumbing_is_under_a_tenth_of_the_notebooks_code():
    counts = {path.name: plumbing_share(path) for path in NOTEBOOKS}
    plumbing = sum(p for p, _ in counts.values())
    total = sum(t for _, t in counts.values())
    report = ", ".join(f"{name[:2]}: {p}/{t}" for name, (p, t) in counts.items())
    assert plumbing / total < MAX_SHARE, f"plumbing {plumbing}/{total} = {plumbing / total:.0%} ({report})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_are_cell_tags_not_code(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            assert not NBVAL.search(cell.source), f"an nbval marker in the code: {cell.source[:80]!r}"
