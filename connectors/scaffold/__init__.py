"""`headwater connectors new NAME`: a new connector folder, its sandbox and its tests, from templates.

The templates (``templates/connector`` -> ``connectors/NAME/``, ``templates/tests`` ->
``tests/NAME/``) are a small working connector: a discovery stream of projects (the
partitions), an incremental stream of each project's items, normalizers into the shared
schema, a classifier, a check and a fake API serving ``/__truth``. The kind is registered with
one line in ``connectors/registry.py``. The generated tests pass at once; docs/connectors.md
says what to edit next.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"[a-z][a-z0-9_]{1,31}")
# The line of connectors/registry.py before which a new kind's line goes.
MARKER = "    # `headwater connectors new NAME` adds its line above this one\n"
# Readable on white text, distinct from the five built-in kinds' badges.
PALETTE = ("#0969da", "#1a7f37", "#8250df", "#bf3989", "#9a6700", "#cf222e", "#0a7e6e", "#953800")


class ScaffoldError(ValueError):
    """The name cannot be used (invalid, taken) or the project tree is not a Headwater checkout."""


@dataclass(frozen=True)
class Scaffolded:
    kind: str
    files: list[Path]  # created, relative to the root
    registry: Path  # edited, relative to the root


def check_name(name: str, root: Path) -> None:
    if not NAME.fullmatch(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise ScaffoldError(
            f"{name!r} is not a valid connector name: use 2-32 lowercase letters, digits and underscores, "
            "starting with a letter (e.g. gitlab, linear, azure_devops)"
        )
    registry = (root / "connectors" / "registry.py").read_text()
    if f'"{name}":' in registry:
        raise ScaffoldError(f"a connector named {name!r} is already registered in connectors/registry.py")
    for taken in (root / "connectors" / name, root / "connectors" / f"{name}.py", root / "tests" / name):
        if taken.exists():
            raise ScaffoldError(f"{taken.relative_to(root)} already exists: choose another name")


def values(name: str) -> dict[str, str]:
    """What the templates are filled with: the kind, its class-name prefix, title and colour."""
    digest = hashlib.sha256(name.encode()).digest()
    return {
        "name": name,
        "Name": "".join(part.title() for part in name.split("_")),
        "title": " ".join(part.title() for part in name.split("_")),
        "color": PALETTE[digest[0] % len(PALETTE)],
    }


def rendered(name: str) -> dict[Path, str]:
    """Each file to write (relative to the project root) with its text."""
    fill = values(name)
    out: dict[Path, str] = {}
    for folder, target in (("connector", Path("connectors") / name), ("tests", Path("tests") / name)):
        for template in sorted((TEMPLATES / folder).glob("*.tmpl")):
            filename = template.name.removesuffix(".tmpl").replace("test_connector", f"test_{name}")
            text = Template(template.read_text()).substitute(fill)
            out[target / filename] = text if text.strip() else ""
    return out


def register(name: str, root: Path) -> Path:
    """One line in the registry's ``KINDS``: ``"NAME": "connectors.NAME",``."""
    path = root / "connectors" / "registry.py"
    text = path.read_text()
    if MARKER not in text:
        raise ScaffoldError(f"{path} has no line {MARKER.strip()!r}: add the kind to KINDS by hand")
    path.write_text(text.replace(MARKER, f'    "{name}": "connectors.{name}",\n{MARKER}', 1))
    return path.relative_to(root)


def scaffold(name: str, root: Path) -> Scaffolded:
    """Write ``connectors/NAME`` and ``tests/NAME`` under ``root`` and register the kind."""
    if not (root / "connectors" / "registry.py").is_file():
        raise ScaffoldError(f"{root} is not a Headwater checkout (no connectors/registry.py): run it from one")
    check_name(name, root)
    files = rendered(name)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return Scaffolded(kind=name, files=sorted(files), registry=register(name, root))


__all__ = ["ScaffoldError", "Scaffolded", "rendered", "scaffold"]
