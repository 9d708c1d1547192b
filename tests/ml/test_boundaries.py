"""ml/ stays plain torch/numpy: arrays and paths in, numbers out, no web framework."""

import ast
from pathlib import Path

import ml

FORBIDDEN = {"django", "rest_framework", "annotator", "rq", "django_rq"}


def test_ml_never_imports_the_web_side():
    offenders = []
    for path in sorted(Path(ml.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
