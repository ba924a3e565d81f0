"""One-click Google Colab: the badges and the first code cell of every notebook.

The repository URL lives in ``helpers.notebook.REPO_URL`` and only there (the
stored videos are served from it too). The notebooks' Colab cells and badges,
and the badges in README.md, are written from it:

    python -m helpers.tools.colab        # after changing REPO_URL (for a fork), or adding a notebook

On Colab, the first code cell clones the repository, installs what Colab lacks
from ``requirements-colab.txt`` (Colab already has Jupyter, and TensorFlow,
Keras and NumPy in versions inside our ranges), and makes ``helpers``
importable. Anywhere else the cell does nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers.notebook import BRANCH, REPO_URL

COLAB_REQUIREMENTS = "requirements-colab.txt"
"""What Colab lacks: requirements.txt minus Jupyter and the test tools."""
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_MARKER = "# Colab setup."
ROOT = Path(__file__).resolve().parents[2]


def _owner_and_name(url: str = REPO_URL) -> str:
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", url)
    if not match:
        raise ValueError(f"REPO_URL must look like https://github.com/OWNER/NAME, got {url!r}")
    return match.group(1)


def colab_clone_dir(url: str = REPO_URL) -> str:
    """Where the Colab cell clones the repository."""
    return f"/content/{_owner_and_name(url).split('/')[1]}"


def colab_prefix(url: str = REPO_URL, branch: str = BRANCH) -> str:
    """Colab's address for the repository's files, up to the path of a notebook."""
    return f"https://colab.research.google.com/github/{_owner_and_name(url)}/blob/{branch}/"


def colab_url(notebook: str | Path, url: str = REPO_URL, branch: str = BRANCH) -> str:
    """The address that opens ``notebook`` (a path relative to the repository root) in Colab."""
    return colab_prefix(url, branch) + Path(notebook).as_posix()


def badge(notebook: str | Path, url: str = REPO_URL) -> str:
    """The "Open in Colab" badge for ``notebook``, as Markdown."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook, url)})"


def setup_cell(notebook: str | Path, url: str = REPO_URL) -> str:
    """The source of the first code cell of ``notebook`` (a path relative to the repository root)."""
    root = colab_clone_dir(url)
    folder = Path(notebook).parent.as_posix()
    return f'''{SETUP_MARKER} On Google Colab this cell fetches the course and installs what Colab
# lacks; anywhere else it does nothing. Written by `python -m helpers.tools.colab` from helpers/notebook.py.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPO_URL, ROOT = "{url}", "{root}"
    if not os.path.isdir(ROOT):
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, ROOT], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r", "{COLAB_REQUIREMENTS}"],
                   cwd=ROOT, check=True)
    sys.path.insert(0, ROOT)  # `import helpers` without a kernel restart
    os.chdir(os.path.join(ROOT, "{folder}"))  # relative paths such as ../videos resolve as they do locally'''


def notebook_paths(root: Path = ROOT) -> list[Path]:
    """Every notebook of the course, lessons and solutions, relative to the repository root."""
    return sorted(p.relative_to(root) for p in (root / "notebooks").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def sync_notebook(path: Path, root: Path = ROOT) -> bool:
    """Give ``path`` its badge (under the title) and its Colab cell (the first code cell).

    Returns whether the file changed. Outputs of all other cells are kept.
    """
    import nbformat

    nb = nbformat.read(root / path, as_version=4)
    before = nbformat.writes(nb)
    header = nb.cells[0]
    lines = header.source.split("\n")
    if header.cell_type != "markdown" or not lines[0].startswith("# "):
        raise ValueError(f"{path}: the first cell must be a Markdown title")
    lines = [line for line in lines if BADGE_IMAGE not in line]
    header.source = "\n".join([lines[0], "", badge(path), *lines[1:]]).replace("\n\n\n", "\n\n")
    source = setup_cell(path)
    first_code = next((c for c in nb.cells if c.cell_type == "code"), None)
    if first_code is not None and first_code.source.startswith(SETUP_MARKER):
        first_code.source = source
    else:
        at = nb.cells.index(first_code) if first_code is not None else len(nb.cells)
        nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    changed = nbformat.writes(nb) != before
    if changed:
        nbformat.write(nb, root / path)
    return changed


def sync_readme(path: Path = ROOT / "README.md") -> bool:
    """Point every Colab badge in a Markdown file at the current REPO_URL and BRANCH."""
    text = path.read_text()
    new = re.sub(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/",
                 colab_prefix(), text)
    if new != text:
        path.write_text(new)
    return new != text


MARKDOWN_WITH_BADGES = ("README.md", "notebooks/README.md")


def main() -> int:
    changed = [str(p) for p in notebook_paths() if sync_notebook(p)]
    changed += [name for name in MARKDOWN_WITH_BADGES if (ROOT / name).exists() and sync_readme(ROOT / name)]
    print("updated: " + ", ".join(changed) if changed else "every notebook and badge already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
