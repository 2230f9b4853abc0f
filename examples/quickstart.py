"""Quickstart: import functions nobody has written yet.

The first run of this file asks the model for ``autogen.textutils`` and stores
the module in ``examples/.autogen/textutils.py``. This repository ships that
stored module (written for the repository, see README), so the example runs
with no API key and no network. Delete the file to generate it for real.
"""

from autogen.textutils import slugify, truncate, word_count


def main() -> None:
    title = "Hello, World! Imports that write themselves"
    print(f"title:      {title}")
    print(f"slug:       {slugify(title)}")
    print(f"preview:    {truncate(title, 24)}")
    print(f"word count: {word_count(title)}")


if __name__ == "__main__":
    main()
