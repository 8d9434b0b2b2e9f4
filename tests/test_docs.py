"""What the code cites is in the repository: every ``docs/*.md`` it names exists."""

from __future__ import annotations

import re

from conftest import REPO_ROOT

SOURCES = sorted((REPO_ROOT / "vqlab").rglob("*.py")) + sorted((REPO_ROOT / "conf").rglob("*.yaml"))


def test_every_document_the_code_cites_is_in_the_repository() -> None:
    cited = {
        (source.name, name)
        for source in SOURCES
        for name in re.findall(r"\b(docs/[\w/-]+\.md|[A-Z]+\.md)\b", source.read_text())
    }
    assert ("hcvq.py", "docs/hcvq.md") in cited
    missing = sorted((where, name) for where, name in cited if not (REPO_ROOT / name).is_file())
    assert not missing, missing
