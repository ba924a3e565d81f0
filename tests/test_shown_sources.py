"""Every `show_source` output stored in a notebook shows the code as it is now in `helpers/`.

nbval does not compare these outputs (they are Markdown), so without this test a notebook could keep showing a
function that has since changed, while its prose promises that what you read is what runs.
"""

import importlib
import json
import re
from pathlib import Path

import pytest

from helpers.notebook import show_source

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").rglob("*.ipynb"))


def shown_sources(path: Path):
    """(cell index, shown object's dotted name, stored Markdown) for every show_source output of a notebook."""
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code" or "show_source(" not in "".join(cell["source"]):
            continue
        for output in cell.get("outputs", []):
            markdown = "".join(output.get("data", {}).get("text/markdown", ""))
            match = re.match(r"`([\w.]+)`\n```python\n", markdown)
            if match:
                yield index, match[1], markdown


def resolve(dotted: str):
    """`helpers.td3.TD3Agent._train_step` -> the object: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_source_listings_match_the_code(path):
    stale = [f"cell {index}: {name}" for index, name, markdown in shown_sources(path)
             if show_source(resolve(name)).data != markdown]
    assert not stale, f"{path.name} shows code that has changed since it ran; re-execute it: {stale}"


def test_the_check_finds_listings_and_would_see_a_change():
    listings = [item for path in NOTEBOOKS for item in shown_sources(path)]
    assert len(listings) >= 5
    index, name, markdown = listings[0]
    assert show_source(resolve(name)).data != markdown.replace("def ", "def  ", 1)
