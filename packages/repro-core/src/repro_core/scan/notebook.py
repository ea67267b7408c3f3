"""Jupyter notebooks: the code cells as one Python text (``!``/``%`` lines blanked, so line
numbers stay those of the joined cells) plus the ``!pip install`` lines."""

import json
from typing import List, Tuple


def code(text: str) -> Tuple[str, List[Tuple[int, str]]]:
    """(python source of the code cells, [(line, shell command)]). ValueError if not a notebook."""
    try:
        nb = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"not JSON: {e}") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if cells is None and isinstance(nb, dict):  # nbformat 3
        sheets = nb.get("worksheets", [])
        if not isinstance(sheets, list) or not all(
                isinstance(ws, dict) and isinstance(ws.get("cells", []), list) for ws in sheets):
            raise ValueError("'worksheets' is not a list of worksheets with cell lists")
        cells = [c for ws in sheets for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise ValueError("no cells")
    lines: List[str] = []
    shell: List[Tuple[int, str]] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input", ""))
        if isinstance(src, list) and all(isinstance(x, str) for x in src):
            src = "".join(src)
        elif not isinstance(src, str):
            raise ValueError("a code cell's source is not text")
        for ln in src.splitlines():
            stripped = ln.lstrip()
            if stripped.startswith(("!", "%")):
                shell.append((len(lines) + 1, stripped.lstrip("!%")))
                lines.append("")
            else:
                lines.append(ln)
        lines.append("")
    return "\n".join(lines), shell
