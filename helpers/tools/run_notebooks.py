"""Execute notebooks top to bottom in place and store clean, diff-friendly outputs.

    python -m helpers.tools.run_notebooks notebooks/05_ddpg.ipynb
    python -m helpers.tools.run_notebooks notebooks/*.ipynb

Each notebook runs in a fresh kernel from its own folder. Afterwards every
progress bar's carriage-return updates collapse to their final line, and no
per-cell timing metadata is kept, so a re-run changes only what really changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def run_notebook(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place; return its wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.tools.run_notebooks", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    for path in args.notebooks:
        if not path.is_file():
            print(f"error: no notebook at {path}", file=sys.stderr)
            return 2
        try:
            print(f"{path}: {run_notebook(path):.0f} s", flush=True)
        except CellExecutionError as exc:
            # The notebook on disk is left as it was; the message names the failing cell.
            print(f"error: {path} failed: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
