"""Cross-source signals, derived per tenant from the normalized rows.

* :mod:`linking.keys`: Jira keys in free text (pure);
* :mod:`linking.identities`: one identity per human across sources (pure);
* :mod:`linking.worklinks`: rows that refer to Jira issues (pure);
* :mod:`linking.store`: reading rows and writing what changed;
* :mod:`linking.task`: the tenant's derived task (after its streams, from its watermark);
* :mod:`linking.views`: the people and links documents, manual merge and split.
"""

STREAM = "derive:links"  # the derived task's stream name in run history

__all__ = ["STREAM"]
