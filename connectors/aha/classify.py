"""Aha!'s reading of HTTP responses, on top of the shared classification.

* 401: the API key was rejected -> CONFIG (create a new key, reconnect);
* 403: the key's user may not see this product or record -> CONFIG for that task only;
* 404 on a product path: the product was deleted or renamed -> CONFIG for that product (a
  "not found": on a listing of a product the runner asks ``GET /products/{id}`` first, so a
  listing this account lacks is not taken for a deleted product);
* 429 with ``Retry-After`` (300 requests per minute, 20 per second per account) and 5xx ->
  TRANSIENT, as everywhere.
"""

from __future__ import annotations

import httpx

from connectors.errors import ErrorKind
from connectors.http.classify import Verdict, classify_response


def classify_aha(response: httpx.Response) -> Verdict:
    status = response.status_code
    if status == 401:
        return Verdict(
            ErrorKind.CONFIG,
            "Aha! rejected the API key (401): create a new key under Settings > Personal > Developer > API keys "
            "and reconnect the source with it",
        )
    if status == 403:
        return Verdict(
            ErrorKind.CONFIG,
            "the Aha! user of this API key may not read this (403): give the user at least viewer access to the "
            "product, or remove the product from the source's `products` option",
        )
    if status == 404 and "/products/" in response.request.url.path:
        return Verdict(
            ErrorKind.CONFIG,
            "this Aha! product no longer exists (404): it was deleted, or the API key's user lost access to it; "
            "the next refresh rediscovers products",
            not_found=True,
        )
    return classify_response(response)
