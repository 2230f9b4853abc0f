"""File names that hold secrets: the context engine never sends them, the import check never reads them.

Standard library only: the import check's rule list is built from it on the cold path
without loading the context engine.
"""

from __future__ import annotations

import fnmatch
import re

PATTERNS = (
    ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa*", "id_dsa*", "id_ecdsa*",
    "id_ed25519*", ".netrc", ".pgpass", "*credentials*", "*.keystore", "secrets.*",
)
_SECRET = re.compile("|".join(fnmatch.translate(pattern) for pattern in PATTERNS))


def secret_file(name: str) -> bool:
    """True for a file name (no directory) that looks like it holds keys or passwords."""
    return _SECRET.match(name) is not None
