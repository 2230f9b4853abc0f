# autogen-hook: generated module autogen.textutils (written for the repository, by hand, 2026-11-21).
# autogen-hook: review it like your own code; delete this file to generate it again.
import re
import unicodedata


def slugify(text: str, separator: str = "-") -> str:
    """Lower-case ASCII words of ``text`` joined by ``separator``, for URLs and file names."""
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    )
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return separator.join(words)


def truncate(text: str, width: int, placeholder: str = "…") -> str:
    """``text`` cut to at most ``width`` characters, ending in ``placeholder`` when cut."""
    if width < 0:
        raise ValueError("width must not be negative")
    if len(text) <= width:
        return text
    if width <= len(placeholder):
        return placeholder[:width]
    return text[: width - len(placeholder)].rstrip() + placeholder


def word_count(text: str) -> int:
    """How many words ``text`` holds, counting runs of letters, digits and apostrophes."""
    return len(re.findall(r"[\w']+", text))
