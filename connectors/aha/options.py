"""What an Aha! source needs: the account URL, which products to read, and an API key."""

from __future__ import annotations

import fnmatch

from pydantic import Field, SecretStr, field_validator

from connectors.connector import SourceOptions, SourceSecrets


class AhaOptions(SourceOptions):
    """``base_url`` is the account domain (``https://SUBDOMAIN.aha.io``); the API lives under ``/api/v1``.

    ``products``: reference prefixes (``PRJ1``) or globs (``PRJ*``), comma separated; ``*`` reads all.
    """

    base_url: str = Field(
        description="the account's domain, https://SUBDOMAIN.aha.io (the API's /api/v1 is added; a pasted "
        "API root is trimmed)"
    )
    products: str = Field(
        "*",
        description="product reference prefixes (PRJ1) or globs (PRJ*), comma separated; '*': every product",
    )

    @field_validator("base_url")
    @classmethod
    def _no_api_suffix(cls, value: str) -> str:
        # People paste the API root; the connector adds /api/v1 itself.
        value = value.rstrip("/")
        for suffix in ("/api/v1", "/api"):
            if value.endswith(suffix):
                return value[: -len(suffix)]
        return value

    @field_validator("products")
    @classmethod
    def _patterns(cls, value: str) -> str:
        patterns = [p.strip() for p in value.split(",") if p.strip()]
        if not patterns:
            raise ValueError("name at least one product reference prefix, or '*' for all products")
        return ",".join(patterns)

    def product_patterns(self) -> list[str]:
        return [p.strip() for p in self.products.split(",") if p.strip()]

    def wants_product(self, reference_prefix: str) -> bool:
        return any(fnmatch.fnmatchcase(reference_prefix.lower(), p.lower()) for p in self.product_patterns())


class AhaSecrets(SourceSecrets):
    """An Aha! API key (Settings > Personal > Developer > API keys), sent as a Bearer token."""

    token: SecretStr = Field(
        description="an Aha! API key (Settings > Personal > Developer > API keys), sent as a Bearer token; "
        "the source sees what that user may see"
    )
