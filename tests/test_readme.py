"""The README is the front door: short, and every path, link and `digits` command in it true."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from digits.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
TOP_FOLDERS = ("anvil_app", "benchmarks", "deploy", "digits", "docs", "harness", "models", "samples", "scripts",
               "tests", "training", "uplink_server")


def _links(text: str) -> list[str]:
    """Relative link targets of a Markdown file: [text](target) and <img src="target">, anchors dropped."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    return [target.split("#")[0] for target in targets
            if not re.match(r"[a-z]+:", target) and target.split("#")[0]]


def _repository_paths(text: str) -> list[str]:
    """Paths inside the repository named in `code`: those that start with one of its top folders."""
    named = []
    for code in re.findall(r"`([^`\n]+)`", text):
        for word in code.split():
            word = word.strip("(),;:'\"")
            if word.split("/")[0] in TOP_FOLDERS and "/" in word and not any(c in word for c in "*<>{}$") \
                    and not any(_placeholder(part) for part in word.split("/")):
                named.append(word.split("#")[0])
    return named


def _placeholder(part: str) -> bool:
    """A name that stands for any (`models/MODEL.keras`), not a file."""
    stem = part.split(".")[0]
    return stem.isupper() and stem != "README"


def _digits_commands(text: str) -> list[str]:
    """Every `digits ...` command line in the file's bash blocks, without its comment."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("digits "):
                commands.append(line)
    return commands


def test_the_readme_is_a_front_door_of_at_most_300_lines():
    assert len((REPO / "README.md").read_text().splitlines()) <= 300


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_link_and_path_a_doc_names_exists(doc):
    text = doc.read_text()
    missing = [target for target in _links(text) if not (doc.parent / target).exists()]
    missing += [path for path in _repository_paths(text) if not (REPO / path).exists()]
    assert not missing, f"{doc.name} names what is not there: {sorted(set(missing))}"


def test_every_digits_command_in_the_readme_is_one_the_cli_takes():
    commands = _digits_commands((REPO / "README.md").read_text())
    assert len(commands) >= 5
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"the README shows a command the CLI refuses: {command}")


def test_the_checks_catch_a_stale_path_and_a_wrong_command():
    assert _repository_paths("see `digits/preprocessing.py` and `scripts/gone.py`") == [
        "digits/preprocessing.py", "scripts/gone.py"]
    assert not (REPO / "digits/preprocessing.py").exists()
    assert _digits_commands("```bash\ndigits classify --no-such-flag x  # c\n```") == [
        "digits classify --no-such-flag x"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["classify", "--no-such-flag", "x"])
