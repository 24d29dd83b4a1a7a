"""The repository's documents point only at documents a clone has: every `*.md` file
named in them (as a link or in the text) exists, relative to the naming file's folder
or to the repository's root."""

import re

import harness

# The template's own documents and the comments of the harness; the generated
# project's files are checked after baking, by the variant tests.
DOCUMENTS = ["*.md", "bench/*.md", "docs/*.md", "tests/harness.py"]
MENTION = re.compile(r"(?<![\w{}/.-])[\w./-]+\.md\b")


def test_every_document_named_exists():
    root = harness.TEMPLATE_DIR
    missing = []
    for pattern in DOCUMENTS:
        for path in sorted(root.glob(pattern)):
            for name in MENTION.findall(path.read_text(encoding="utf-8")):
                if not ((path.parent / name).is_file() or (root / name).is_file()):
                    missing.append(f"{path.relative_to(root).as_posix()}: {name} does not exist")
    harness.assert_none(missing)
    assert (root / "docs" / "public-interface.md").is_file()
