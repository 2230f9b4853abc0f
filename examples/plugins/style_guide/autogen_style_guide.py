"""An autogen-hook prompt plugin: add the house style to the instructions of every generation.

Installed, it is found through the ``autogen_hook.prompt_plugins`` entry point; autogen-hook
calls it with the first messages of each generation and sends what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from autogen_hook import PluginTarget
from autogen_hook.providers import Message

STYLE = """House style for this project:
- Type hints on every parameter and return value, and a docstring on every public function and class.
- Prefer small pure functions; no global mutable state."""


def style_guide(messages: Sequence[Message], target: PluginTarget) -> list[Message]:
    """The messages with the house style appended to the system message."""
    return [
        Message(m.role, f"{m.content}\n\n{STYLE}") if m.role == "system" else m for m in messages
    ]
