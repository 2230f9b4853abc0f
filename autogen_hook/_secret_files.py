"""File names that hold secrets: the context engine never sends them, the import check never reads them.

Standard library only: the import check's rule list is built from it on the cold path
without loading the context engine. Names, not contents: the context engine also refuses a
configuration file (:data:`CONFIG_SUFFIXES`) whose keys look like secrets
(``context/_files.py``).
"""

from __future__ import annotations

import fnmatch
import re

PATTERNS = (
    ".env*", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "id_xmss*",  # SSH keys, not id_utils.py
    ".netrc", ".pgpass", ".npmrc", ".pypirc", ".htpasswd", ".dockercfg", "*credentials*",
    "secrets.*", "secret.*", "*.tfvars",
)
CONFIG_SUFFIXES = (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".properties")
_SECRET = re.compile("|".join(fnmatch.translate(pattern) for pattern in PATTERNS))


def secret_file(name: str) -> bool:
    """True for a file name (no directory) that looks like it holds keys or passwords: also
    ``id_*`` without an extension, or with ``.pub`` (an SSH key of any name: ``id_github``),
    but not ``id_utils.py``."""
    if name.startswith("id_") and ("." not in name or name.endswith(".pub")):
        return True
    return _SECRET.match(name) is not None
