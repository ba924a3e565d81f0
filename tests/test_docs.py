"""The documents that promise something checkable: the video index and sizes, the hyperparameter table, the guide."""

import dataclasses
import json
import re
from pathlib import Path

from helpers.config import DDPGConfig
from helpers.tools import colab

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ROOT / "videos"


def test_every_video_file_is_small_and_the_folder_fits_its_budget():
    files = [p for p in VIDEOS.rglob("*") if p.is_file()]
    too_big = [f"{p.relative_to(ROOT)}: {p.stat().st_size // 1000} kB" for p in files if p.stat().st_size > 300_000]
    assert not too_big, too_big
    assert sum(p.stat().st_size for p in files) <= 8_000_000


def test_every_clip_is_an_mp4_with_a_gif():
    mp4s = {p.with_suffix("") for p in VIDEOS.rglob("*.mp4")}
    gifs = {p.with_suffix("") for p in VIDEOS.rglob("*.gif")}
    assert mp4s and mp4s == gifs


def test_the_video_index_lists_every_gallery_clip_with_its_measured_returns():
    index = json.loads((VIDEOS / "gallery" / "index.json").read_text())
    readme = (VIDEOS / "README.md").read_text()
    assert index["command"] in readme
    for clip in index["clips"]:
        for suffix in (".mp4", ".gif"):
            assert (VIDEOS / "gallery" / f"{clip['name']}{suffix}").is_file()
            assert f"gallery/{clip['name']}{suffix}" in readme
        assert f"{clip['eval_mean']:.1f} ± {clip['eval_std']:.1f}" in readme
    names = {clip["name"] for clip in index["clips"]}
    assert {"pendulum_untrained", "pendulum_trained", "mountaincar_ou", "mountaincar_gaussian"} <= names
    assert sum(name.startswith("pendulum_step") for name in names) >= 2


def test_readme_gallery_shows_before_during_and_after_with_returns():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- gallery:", 1)[1].split("<!-- /gallery -->", 1)[0]
    for name in ("pendulum_untrained", "pendulum_step0", "pendulum_trained"):
        assert f"videos/gallery/{name}" in block
    assert block.count("eval ") >= 3


def test_the_hyperparameter_table_covers_every_config_field_with_its_default():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Hyperparameters", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| `([^`]*)` \|", table, re.M)}
    defaults = DDPGConfig()
    for field in dataclasses.fields(DDPGConfig):
        assert field.name in rows, f"README hyperparameter table lacks {field.name}"
        value = getattr(defaults, field.name)
        assert rows[field.name] == str(value), (field.name, rows[field.name], value)


def test_the_reading_guide_lists_every_notebook_with_its_badge():
    guide = (ROOT / "notebooks" / "README.md").read_text()
    for path in colab.notebook_paths():
        if path.parent.name == "notebooks":
            assert colab.badge(path) in guide
            assert f"]({path.name})" in guide
    for word in ("Prerequisites", "Q-learning", "DQN", " min |"):
        assert word in guide


def test_every_notebook_imports_helpers_first_and_stores_no_log_noise():
    """`import helpers` silences TensorFlow's start-up logs; without it they land in the committed outputs."""
    import nbformat

    for path in colab.notebook_paths():
        nb = nbformat.read(ROOT / path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code[1].source.startswith("import helpers"), f"{path}: the cell after the Colab cell must import helpers"
        for cell in code:
            for output in cell.get("outputs", []):
                text = output.get("text", "") if isinstance(output.get("text", ""), str) else ""
                assert "absl::InitializeLog" not in text and "oneDNN custom operations" not in text, path


def _measured_text() -> str:
    """Every stored notebook output, every file in results/, and the main job's and the gallery's own records
    (videos/**/*.json and *.md), with one minus sign and no thousands commas."""
    parts = []
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                parts.append("".join(output.get("text", "")))
                parts.append("".join(output.get("data", {}).get("text/plain", "")))
    files = sorted((ROOT / "results").glob("*")) + sorted((ROOT / "videos").rglob("*.json")) \
        + sorted((ROOT / "videos").rglob("*.md"))
    parts += [path.read_text() for path in files if path.is_file()]
    return "\n".join(parts).replace("\u2212", "-").replace(",", "")


def _quoted(pattern: str, text: str) -> list[str]:
    return [m.group() for m in re.finditer(pattern, text)]


def test_the_docs_quote_only_numbers_that_a_notebook_or_a_results_file_printed():
    """The reading guide quotes the notebooks, and the README's returns and differences (signed decimals) come
    from a notebook's stored outputs, from results/ or from a run's record under videos/, so neither can drift
    from what was measured."""
    measured = _measured_text()

    def missing(numbers):
        return [n for n in numbers if n.lstrip("−+-").replace(",", "") not in measured]

    guide = (ROOT / "notebooks" / "README.md").read_text()
    assert not missing(_quoted(r"(?<![\w.])[−+-]?\d[\d,]*\.\d+", guide)), "reading guide"
    readme = (ROOT / "README.md").read_text()
    assert not missing(_quoted(r"(?<![\w.])[−+]\d[\d,]*\.\d+", readme)), "README"


def test_licence_and_citation_are_present_and_well_formed():
    import yaml

    root = Path(__file__).resolve().parent.parent
    licence = (root / "LICENSE").read_text()
    assert "MIT License" in licence and "CC BY 4.0" in licence
    citation = yaml.safe_load((root / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    assert citation["title"] and citation["authors"] and citation["repository-code"].startswith("https://")
    assert "[`LICENSE`](LICENSE)" in (root / "README.md").read_text()


def test_the_stored_defaults_study_report_is_what_its_json_prints_today(capsys):
    """results/defaults_study.txt is `--report` of results/defaults_study.json: a change to helpers.stats that moves
    a printed interval or p-value shows here."""
    from helpers.tools import defaults_study

    assert defaults_study.main(["--report"]) == 0
    assert capsys.readouterr().out == (ROOT / "results" / "defaults_study.txt").read_text()
