"""The "Privacy options" lists of docs/connectors.md, generated from the streams' declarations.

``python -m connectors.privacy_docs`` prints them; ``tests/privacy/test_docs.py`` checks that the
docs say exactly this.
"""

from __future__ import annotations

from connectors.privacy import Privacy
from connectors.registry import available_kinds, get_connector

BEGIN = "<!-- privacy-fields:begin (generated: python -m connectors.privacy_docs) -->"
END = "<!-- privacy-fields:end -->"
LABELS = (
    ("people", "redact_people"),
    ("bodies", "strip_bodies"),
    ("paths", "hash_paths"),
    ("embeds", "values replaced inside"),
)


def _stream(name: str, privacy: Privacy | None) -> str:
    if privacy is None:
        return f"- `{name}`: **not declared** (refused while an option is on)"
    parts = [
        f"{label}: " + ", ".join(f"`{p}`" for p in getattr(privacy, attr))
        for attr, label in LABELS
        if getattr(privacy, attr)
    ]
    return f"- `{name}`: " + ("; ".join(parts) if parts else "nothing to change")


def fields_markdown() -> str:
    """Per connector, per stream: the raw-record paths each option changes."""
    out = [BEGIN]
    for kind in available_kinds():
        c = get_connector(kind)
        out += ["", f"**{c.metadata.display_name}** (`{kind}`)", ""]
        out += [_stream(s.name, s.privacy) for s in c.streams]
    out += ["", END]
    return "\n".join(out)


if __name__ == "__main__":
    print(fields_markdown())
