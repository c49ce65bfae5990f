"""Feeds from the network to parsed entries: the core's intake.

- ``fetch``: the feed fetcher (conditional GET, redirects, Retry-After, size caps, one error
  line per failure), on the shared HTTP layer.
- ``discover``: finding a site's feeds from its page (``<link rel="alternate">``).
- ``opml``: OPML 1/2 and newsboat ``urls`` import, OPML 2 export.
- ``parse``: bytes -> ``ParsedFeed`` (feedparser as the reference, a fast reader checked
  against it, a process pool, comment metadata).

May import: ``model``, ``errors``, ``sanitize``, ``config``, the HTTP layer. Never Textual,
the store, the service, the UI or a front door.
"""
