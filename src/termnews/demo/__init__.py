"""termnews' sample site: a real blog server on loopback that speaks real comment protocols.

    with DemoSite(flood_seconds=0) as site:
        site.url, site.feed_urls, site.post_for("threaded").url, site.comments_for(15)

`serve_forever()` runs it in the foreground (`termnews demo --serve-only`, whose options
are parsed in termnews.cli.demo).
"""

from termnews.demo.blog import DemoPost
from termnews.demo.server import DemoSite, serve_forever
from termnews.demo.state import DemoStateError

__all__ = ["DemoPost", "DemoSite", "DemoStateError", "serve_forever"]
