"""The Colab cell: the commands it runs on Colab, and that it does nothing anywhere else."""

import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from helpers.tools import colab

ROOT = Path(__file__).resolve().parent.parent


def requirement_lines(name: str) -> list[str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line for line in lines if line]


def test_on_colab_the_cell_clones_installs_and_makes_helpers_importable(monkeypatch):
    calls, moves = [], []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    monkeypatch.setattr(os, "chdir", moves.append)
    monkeypatch.setattr(os.path, "isdir", lambda path: False)
    monkeypatch.setattr(sys, "path", list(sys.path))

    exec(colab.setup_cell("notebooks/05_ddpg.ipynb"), {})

    root = colab.colab_clone_dir()
    assert root == "/content/ddpg-measured"
    assert calls == [
        (["git", "clone", "--depth", "1", colab.REPO_URL, root], {"check": True}),
        ([sys.executable, "-m", "pip", "install", "--quiet", "-r", "requirements-colab.txt"],
         {"cwd": root, "check": True}),
    ]
    assert sys.path[0] == root
    assert moves == [f"{root}/notebooks"]


def test_on_colab_a_second_run_does_not_clone_again(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(os, "chdir", lambda path: None)
    monkeypatch.setattr(os.path, "isdir", lambda path: True)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(colab.setup_cell("notebooks/solutions/05_ddpg_solutions.ipynb"), {})
    assert [c[:3] for c in calls] == [[sys.executable, "-m", "pip"]]


def test_anywhere_else_the_cell_is_a_no_op(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)

    def forbidden(*args, **kwargs):
        raise AssertionError("the Colab cell ran a command outside Colab")

    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(os, "chdir", forbidden)
    path_before, cwd_before, namespace = list(sys.path), os.getcwd(), {}
    exec(colab.setup_cell("notebooks/01_discretization.ipynb"), namespace)
    assert sys.path == path_before and os.getcwd() == cwd_before
    assert set(namespace) <= {"sys", "__builtins__"}


def test_colab_installs_a_subset_of_requirements_without_jupyter():
    colab_reqs = requirement_lines(colab.COLAB_REQUIREMENTS)
    assert "-r requirements-colab.txt" in requirement_lines("requirements.txt")
    names = " ".join(colab_reqs)
    for package in ("tensorflow", "keras", "gymnasium", "numpy", "moviepy"):
        assert package in names
    for local_only in ("jupyter", "nbval", "pytest", "-e ."):
        assert local_only not in names  # installing Jupyter on Colab could break its runtime
    assert "tensorflow>=2.16,<3" in colab_reqs  # no pin that would downgrade Colab's TensorFlow
    # gymnasium 1.x's RecordVideo fails with moviepy 1.0.3, which Colab may have preinstalled:
    # the lower bound makes pip upgrade it there.
    assert "moviepy>=2.0,<3" in colab_reqs


def test_every_notebook_has_its_badge_and_colab_cell_first():
    paths = colab.notebook_paths()
    assert len(paths) >= 5
    for path in paths:
        nb = nbformat.read(ROOT / path, as_version=4)
        assert colab.badge(path) in nb.cells[0].source, f"{path}: run python -m helpers.tools.colab"
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.source == colab.setup_cell(path), f"{path}: run python -m helpers.tools.colab"


def test_readme_badges_point_at_the_repository():
    readme = (ROOT / "README.md").read_text()
    for path in colab.notebook_paths():
        if path.parent.name == "notebooks":
            assert colab.badge(path) in readme, path
    assert readme.count("colab.research.google.com/github/") == readme.count(colab.colab_prefix())


def test_a_bad_repo_url_is_one_clear_error():
    with pytest.raises(ValueError, match="OWNER/NAME"):
        colab.colab_url("notebooks/05_ddpg.ipynb", url="git@github.com:me/repo.git")
