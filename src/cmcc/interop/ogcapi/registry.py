"""The collections the endpoint publishes, one provider per collection id (process-wide).

Modules call `register` when the application is assembled; tests call `unregister` after.
"""

from __future__ import annotations

import threading

from cmcc.core.errors import NotFound
from cmcc.interop.ogcapi.provider import CollectionProvider

_lock = threading.Lock()
_providers: dict[str, CollectionProvider] = {}


def register(provider: CollectionProvider) -> None:
    """Publish `provider`; a provider already registered under the same id is replaced."""
    with _lock:
        _providers[provider.id] = provider


def unregister(collection_id: str) -> None:
    """Withdraw a collection; unknown ids are ignored."""
    with _lock:
        _providers.pop(collection_id, None)


def providers() -> list[CollectionProvider]:
    """Every registered provider, ordered by collection id."""
    with _lock:
        return [_providers[key] for key in sorted(_providers)]


def get_provider(collection_id: str) -> CollectionProvider:
    with _lock:
        provider = _providers.get(collection_id)
    if provider is None:
        raise NotFound(f"collection {collection_id!r} not found")
    return provider
