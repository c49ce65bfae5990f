"""What the sample site's stand-in discussion services say about the fish market post.

Original sample text written for termnews, like content.py. Each thread is a list of
`Remark`s: an id local to the thread, who wrote it, which remark it answers (None: the
post itself), minutes after the post, and the text (HTML as the service sends it; "{base}"
stands for the sample site's root URL).
"""

from __future__ import annotations

from dataclasses import dataclass

from termnews.demo.content import POSTS

DISCUSSED_ROLE = "threaded"  # the post that is discussed on HN, Lobsters and Mastodon
DISCUSSED_AT = next(p.published for p in POSTS if p.role == DISCUSSED_ROLE)


@dataclass(frozen=True, slots=True)
class Remark:
    id: int
    author: str
    parent: int | None
    minutes: int
    html: str

    @property
    def created(self) -> int:
        return int(DISCUSSED_AT) + self.minutes * 60


# Two more threads, for tests, reachable by id only: 10,000 hostile replies each.
HOSTILE_HN_ID = 99000001
HOSTILE_STATUS_ID = "115611024999999999"
HOSTILE_REPLIES = 10_000

HN_STORY_ID = 46210815
HN_TITLE = "Should a fish market move half a mile inland?"
HN_POINTS = 87
HN_THREAD: tuple[Remark, ...] = (
    Remark(
        46210901,
        "quaywalker",
        None,
        42,
        "<p>Every town that moved its market away from the water regretted it within a "
        "decade. The landing <i>is</i> the attraction; the stalls are what pays for it.</p>",
    ),
    Remark(
        46210944,
        "netmender",
        46210901,
        58,
        "<p>Counterpoint: the quay floods twice a winter and the ice machine is older than "
        "most of the crew. A dry floor and a loading bay are not nothing.</p>",
    ),
    Remark(
        46211002,
        "quaywalker",
        46210944,
        71,
        "<p>Fix the roof, then. Moving the whole market to solve a leak seems like a lot.</p>",
    ),
    Remark(
        46211030,
        "ropemaker_dot_io",
        None,
        95,
        "<p>Old industrial buildings make great markets if you keep a reason to walk there. "
        "A shuttle from the harbour on landing days would do it.</p>"
        "<p>Also: long dry floor is exactly what a rope works is for. Nice reuse.</p>",
    ),
    Remark(
        46211077,
        "tidal_lag",
        46211030,
        130,
        "<p>A shuttle that nobody funds after the first summer, in my experience.</p>",
    ),
    Remark(
        46211120,
        "ledgerkeeper",
        None,
        210,
        "<p>The consultation page is worth reading in full; the rent figures for the crab "
        "boats are the real story here, not the view.</p>",
    ),
)

LOBSTERS_SHORT_ID = "fm0ve2"
LOBSTERS_TITLE = "Should the fish market move to the old rope works?"
LOBSTERS_SCORE = 14
LOBSTERS_THREAD: tuple[Remark, ...] = (
    Remark(
        1,
        "saltpan",
        None,
        64,
        "<p>Off-topic for this site, maybe, but a good example of a consultation that "
        "actually publishes its numbers.</p>",
    ),
    Remark(
        2,
        "wharfrat",
        1,
        88,
        "<p>Agreed. More councils should put the spreadsheet up next to the question.</p>",
    ),
)

MASTODON_STATUS_ID = "115611024000000100"
MASTODON_AUTHOR = "harbourdesk"
MASTODON_ROOT = (
    "<p>New on the blog: should the fish market move to the old rope works? Tell us here "
    "or under the post. The consultation closes at the end of December.</p>"
)
MASTODON_THREAD: tuple[Remark, ...] = (
    Remark(
        115611024000000201,
        "gullwatch",
        None,
        25,
        "<p>Keep it on the quay. I buy my fish where I can see the boat it came off.</p>",
    ),
    Remark(
        115611024000000202,
        "crabpot",
        115611024000000201,
        37,
        '<p><span class="h-card"><a href="{base}@gullwatch" class="u-url mention">@<span>gullwatch'
        "</span></a></span> you can still see the boats; they would unload at the quay and "
        "drive up. It is the selling that moves, not the landing.</p>",
    ),
    Remark(
        115611024000000203,
        "millanefolk",
        None,
        66,
        "<p>Speaking as someone who lives on Mill Lane: please sort the parking out first.</p>",
    ),
)

# Display names of the stand-in Mastodon accounts ("you" is the demo's own account).
MASTODON_NAMES = {
    "harbourdesk": "Harbour Desk",
    "gullwatch": "Gull Watch",
    "crabpot": "Crab Pot",
    "millanefolk": "Mill Lane Folk",
    "you": "You (demo)",
}
