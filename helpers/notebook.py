"""Small display helpers for the notebooks: real source code and config tables."""

from __future__ import annotations

import dataclasses
import inspect
import textwrap

from helpers.config import field_docs

REPO_URL = "https://github.com/ddpg-course/ddpg-measured"
"""The public repository that Colab clones and opens the notebooks from, and that serves stored videos."""
BRANCH = "main"


def show_source(obj) -> "IPython.display.Markdown":  # noqa: F821
    """Render the real source of a function, class or method from ``helpers``.

    The notebooks show the code they run instead of pasting a second copy,
    so what a reader studies can never drift from what executes.
    """
    from IPython.display import Markdown

    source = textwrap.dedent(inspect.getsource(obj))
    where = f"{inspect.getmodule(obj).__name__}.{obj.__qualname__}"
    return Markdown(f"`{where}`\n```python\n{source}```")


def config_table(config) -> "IPython.display.Markdown":  # noqa: F821
    """A Markdown table of a config dataclass: field, value and its docstring."""
    from IPython.display import Markdown

    docs = field_docs(type(config))
    rows = ["| field | value | meaning |", "|---|---|---|"]
    for field in dataclasses.fields(config):
        doc = docs[field.name].replace("|", "\\|")
        rows.append(f"| `{field.name}` | `{getattr(config, field.name)!r}` | {doc} |")
    return Markdown("\n".join(rows))
