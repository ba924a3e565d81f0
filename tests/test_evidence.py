"""The committed notebooks' evidence: every printed comparison's interval agrees with its verdict."""

import re

import nbformat
import pytest

from helpers.tools import colab

# An interval, optionally its level, then (on the same line) a p-value and a verdict: "+5.0 [+2.4, +7.5] (99%),
# signed-rank p = 4.46e-06, significant". Round brackets mark an end left out of the interval (exactly 0, rejected).
COMPARISON = re.compile(r"([\[(])([+-]?\d[\d,]*\.?\d*), ([+-]?\d[\d,]*\.?\d*)([\])])(?: \([\d.]+%\))?, "
                        r"(?:rank-sum |signed-rank |rank test )?p = [\d.e+-]+(?:, Holm, \d+ comparisons)?, "
                        r"(not significant|significant)")


def comparison_lines(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for line in output.get("text", "").splitlines():
                yield from COMPARISON.finditer(line)


def excludes_zero(left, low, high, right) -> bool:
    low, high = float(low.replace(",", "")), float(high.replace(",", ""))
    return low > 0 or high < 0 or (low == 0 and left == "(") or (high == 0 and right == ")")


@pytest.mark.parametrize("path", colab.notebook_paths(), ids=str)
def test_every_printed_interval_excludes_zero_exactly_when_its_test_says_significant(path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    disagree = [m.group(0) for m in comparison_lines(root / path)
                if excludes_zero(*m.group(1, 2, 3, 4)) != (m.group(5) == "significant")]
    assert not disagree, disagree


def test_the_pattern_reads_both_kinds_of_line():
    agree = "+5.0 [+2.4, +7.5] (99%), signed-rank p = 4.46e-06, significant; P(first larger) 0.65"
    open_end = "+1.0 (+0.0, +1.5], rank-sum p = 0.0343, significant"
    wrong = "-280.3 [-656.7, -49.8], p = 0.19, not significant"
    for line, expected in ((agree, True), (open_end, True), (wrong, False)):
        m = COMPARISON.search(line)
        assert m and (excludes_zero(*m.group(1, 2, 3, 4)) == (m.group(5) == "significant")) == expected
