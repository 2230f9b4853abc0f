"""An autogen-hook validator: every public function and class needs a docstring.

Installed, it is found through the ``autogen_hook.validators`` entry point; autogen-hook calls
it with each candidate module that passed its own checks. Each problem it returns goes back
to the model, which is asked again, as for any other check.
"""

from __future__ import annotations

import ast

from autogen_hook import PluginTarget


def check_docstrings(source: str, target: PluginTarget) -> list[str]:
    """One problem per public function or class of ``source`` without a docstring."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not node.name.startswith("_") and ast.get_docstring(node) is None:
                problems.append(f"line {node.lineno}: `{node.name}` has no docstring; give it one")
    return problems
