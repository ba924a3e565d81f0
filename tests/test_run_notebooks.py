import nbformat

from helpers.tools.run_notebooks import run_notebook


def test_executes_in_place_with_clean_outputs(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("for i in range(3):\n    print(f'\\r{i}', end='', flush=True)\nprint()")]
    nbformat.write(nb, path)
    run_notebook(path)
    cell = nbformat.read(path, as_version=4).cells[0]
    assert cell.execution_count == 1
    assert [o.text for o in cell.outputs] == ["2\n"]  # carriage-return updates collapsed
    assert "execution" not in cell.metadata  # no timing metadata
