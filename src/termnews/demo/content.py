"""The sample site's text: three small blogs, their posts and their seeded comments.

Everything here is original sample text written for termnews. Dates are fixed (November
2026, UTC) so snapshots taken elsewhere stay stable; only comments posted while the site
runs carry the current time. Post bodies use the placeholder ``{base}`` for the site's
root URL (always ending in "/"), filled in when the site knows its port.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

WORDPRESS = "wordpress"
BLOGGER = "blogger"
COMMENTAPI = "commentapi"


def _ts(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class BlogInfo:
    key: str
    title: str
    tagline: str
    path: str  # the blog's home, relative to the site root, e.g. "" or "blogger/"


@dataclass(frozen=True, slots=True)
class PostSeed:
    id: int
    blog: str
    role: str  # what the post is for: news, showcase, long, closed, threaded, ...
    slug: str
    title: str
    author: str
    category: str
    published: float
    modified: float
    body: str  # HTML with {base} placeholders (use .replace, not .format)
    comments_open: bool = True


@dataclass(frozen=True, slots=True)
class CommentSeed:
    id: int
    post_id: int
    parent: int
    author: str
    email: str
    url: str
    date: float
    text: str  # plain text; paragraphs separated by blank lines


BLOGS: dict[str, BlogInfo] = {
    WORDPRESS: BlogInfo(
        WORDPRESS,
        "Saltmarsh Quay Gazette",
        "News from the harbour, the hill and the ferry slip",
        "",
    ),
    BLOGGER: BlogInfo(
        BLOGGER,
        "The Allotment Ledger",
        "Notes from plot 14, written with muddy hands",
        "blogger/",
    ),
    COMMENTAPI: BlogInfo(
        COMMENTAPI,
        "Tidewater release notes",
        "A small command-line tool that prints tide tables",
        "tidewater/",
    ),
}

_NEWS = """\
<p>Work on the outer harbour wall will begin on the first Monday of December, the harbour \
board confirmed on Tuesday evening, after a meeting in the lifeboat station that ran well past \
its advertised two hours. The contractor, a family firm from across the estuary that rebuilt \
the slipway at Penhallow four years ago, will bring a floating crane into the outer basin at \
the end of this month and moor it against the north mole, where it is expected to stay until \
the middle of March. Board members said the timing was chosen so that the heaviest lifting \
happens on the neap tides, when the water over the wall's foundations is at its calmest, and \
before the spring storms that took two courses of facing stone off the seaward side last \
year.</p>
<p>The repair is not a small one. Surveyors who dived along the wall in September found that \
the lime mortar between the lower blocks has washed out over a stretch of roughly forty \
metres, leaving some of the granite resting on little more than its own weight. Their report, \
which the board published in full on its notice board and on this site, describes the damage \
as serious but not urgent, and recommends grouting the voids, resetting the displaced facing \
stones and adding a toe of rock armour along the most exposed section. The estimated cost is \
a little under four hundred thousand pounds, of which the county has agreed to pay two thirds; \
the rest will come from the board's reserves and, the chair said with a sigh the whole room \
heard, from a modest rise in mooring fees next year.</p>
<p>Fishing crews who use the outer basin will have to share it with the crane for most of the \
winter. The board has marked out a channel along the southern side that will stay clear at all \
states of the tide, and the harbour master has promised a daily notice of which berths are \
affected, posted by the fuel pontoon and read out on the morning radio call. Several skippers \
at the meeting asked for the work to pause during the January sprat run, when the quay is at \
its busiest; the contractor agreed to stand down for ten days if the fish arrive, provided \
the board gives them two days' warning. Nobody in the room could say how the board was meant \
to know two days in advance when the sprats would turn up, and the minutes record laughter.</p>
<p>Residents of Quay Terrace, whose front windows look straight at the north mole, were told \
that piling will be limited to weekdays between eight in the morning and five in the \
afternoon, and that the crane's generator will be fitted with a silencer. A drop-in session \
with the engineers is planned for the Saturday before work starts, in the upstairs room of the \
Anchor, where the drawings will be pinned up and anyone can ask what each number means. The \
board also wants to hear from people who remember the last major repair, in the winter of \
1987, when, according to the one surviving photograph, the whole town seems to have turned \
out to watch a block the size of a van being lowered into place.</p>
"""

_SHOWCASE = """\
<p>The harbour office has started printing a new style of tide table, and it has already \
caused <em>three</em> arguments in the queue at the bakery. This post walks through it \
column by column. If you only want the numbers, the printable version is on the \
<a href="/2026/11/winter-ferry-timetable/">ferry page</a>, and the office keeps the \
<a href="{base}wp-content/uploads/2026/11/tide-table-december.png">December sheet</a> as an \
image too.</p>
<h2>What changed</h2>
<p>The old table gave one time and one height per tide. The new one adds the range, a \
coefficient and a note on the weather's likely effect. In short:</p>
<ul>
  <li>Times are now always in local clock time, with a small mark on the days the clocks \
change.</li>
  <li>Heights are in metres above chart datum:
    <ul>
      <li>high water heights are printed in <strong>bold</strong>;</li>
      <li>low water heights below 0.5&nbsp;m are underlined, because that is when the \
inner basin dries;</li>
      <li>a dash means no second tide that day.</li>
    </ul>
  </li>
  <li>The last column is new: the <em>range</em>, high water minus the low water before it.</li>
</ul>
<h2>Reading one row</h2>
<h3>A worked example</h3>
<p>Take the row for Thursday the 10th of December:</p>
<table>
  <thead>
    <tr><th>Tide</th><th>Time</th><th>Height (m)</th><th>Range (m)</th></tr>
  </thead>
  <tbody>
    <tr><td>Low</td><td>04:12</td><td>0.8</td><td>&ndash;</td></tr>
    <tr><td>High</td><td>10:31</td><td>5.1</td><td>4.3</td></tr>
    <tr><td>Low</td><td>16:47</td><td>0.6</td><td>&ndash;</td></tr>
    <tr><td>High</td><td>22:58</td><td>4.9</td><td>4.3</td></tr>
  </tbody>
</table>
<p>To know whether you can float out of the inner basin at a given hour, follow these steps:</p>
<ol>
  <li>Find the two tides either side of the hour you care about.</li>
  <li>Work out how far through the rise (or the fall) you are, in sixths:
    <ol>
      <li>the first and last sixths move one twelfth of the range each;</li>
      <li>the second and fifth move two twelfths;</li>
      <li>the middle two move three twelfths each.</li>
    </ol>
  </li>
  <li>Add that to the low water height, then compare with your boat's draught plus the \
basin floor (1.4&nbsp;m above datum at the steps).</li>
</ol>
<p>The harbour office's own calculator does the same arithmetic. A member of the sailing club \
wrote it down as a few lines of Python, which we print here with permission:</p>
<pre><code>def height_at(low: float, high: float, fraction: float) -&gt; float:
    \"\"\"Rule of twelfths: the height `fraction` (0..1) of the way from low to high.\"\"\"
    twelfths = [0, 1, 3, 6, 9, 11, 12]
    step = min(int(fraction * 6), 5)
    part = fraction * 6 - step
    done = twelfths[step] + (twelfths[step + 1] - twelfths[step]) * part
    return low + (high - low) * done / 12

print(round(height_at(0.8, 5.1, 0.5), 2))  # 2.95 &lt; 1.4 + 1.2? then you wait
</code></pre>
<h2>What the harbour master says</h2>
<blockquote>
  <p>A table is a forecast of the sea's manners, not a promise. With a southerly gale \
behind it the water comes in early and stays late; with high pressure sitting on the town it \
can fall short by a hand's width. Read the numbers, then look at the water.</p>
  <p>&mdash; Harbour master's note, printed on the back of every sheet</p>
</blockquote>
<h2>Pictures</h2>
<p><img src="/wp-content/uploads/2026/11/tide-board.png" alt="The painted tide board on the \
inner harbour steps, with marks every half metre" width="64" height="32" /></p>
<p><img src="{base}wp-content/uploads/2026/11/tide-table-december.png" alt="A scan of the \
December tide table, four columns per day" width="64" height="32" /></p>
<h2>Further reading</h2>
<ul>
  <li><a href="{base}2026/11/harbour-wall-repairs/">The harbour wall repairs</a>, which will \
close part of the outer basin this winter.</li>
  <li><a href="../fish-market-move/">The fish market debate</a> (relative link, as some \
editors write them).</li>
  <li><a href="/?p=9">A year of harbour logs</a>, via the short link.</li>
  <li><a href="https://example.org/almanac/tides">An example almanac</a> and \
<a href="https://example.com/charts?area=estuary&amp;scale=25000">an example chart \
service</a>.</li>
  <li><a href="mailto:harbour.office@example.net">Write to the harbour office</a>.</li>
  <li><a href="#comments">Jump to the comments</a>.</li>
</ul>
"""

_CLOSED = """\
<p>The winter timetable for the foot ferry to Penhallow starts on Monday the 30th of \
November and runs until the last Sunday of March. Comments are closed on this notice: \
questions about a particular crossing are best put to the ferry office, which answers the \
telephone from half past seven.</p>
<ul>
  <li>Weekdays: first crossing 07:40, then every forty minutes until 17:20.</li>
  <li>Saturdays: 09:00 to 16:20, every forty minutes.</li>
  <li>Sundays: 10:00, 12:00, 14:00 and 16:00 only.</li>
</ul>
<p>Crossings are cancelled when the wind at the pier head is above force six. A red flag on \
the ferry hut means the next crossing will not run.</p>
"""

_THREADED = """\
<p>The old rope works on Mill Lane has been empty for eleven years, and the fish market on the \
quay is too small, too cold and, since the roof leaked onto the ice machine in October, too \
damp. The town council is asking whether the market should move into the rope works, which \
has a long dry floor, good road access and no view of the sea whatsoever.</p>
<p>Supporters say the move would let the market open on weekday afternoons, take deliveries \
without blocking the quay and rent stalls to the smokehouse and the two crab boats. \
Opponents say a fish market half a mile from the water is a fish shop, and that visitors come \
to watch the catch landed, not to walk up a lane behind the bus depot.</p>
<p>The consultation closes at the end of December. We have opened the comments below for \
anyone who wants to argue it out in public; please keep it civil, and please do not post \
anyone's phone number.</p>
<p>The harbour desk has posted this on Mastodon too: \
<a href="{base}@harbourdesk/115611024000000100">comment on Mastodon</a>.</p>
"""

_BLOGGER_GARLIC = """\
<p>Fourteen cloves went in this afternoon, in the bed by the water butt where the beans were. \
The soil was wet enough to hold a thumbprint but not so wet that it smeared, which is the \
best you can hope for in November.</p>
<p>I planted them a hand's width apart, pointed end up, just deep enough that the tips \
disappeared, and covered the row with a strip of old fleece to stop the blackbirds pulling \
them out to see what they were. Last year they pulled out every single one, twice.</p>
<p>Variety: whatever the hardware shop on the corner had in the net bag. It said \
<em>softneck, mild</em>. We shall see.</p>
"""

_BLOGGER_LEAFMOULD = """\
<p>The council leaf sweeper came down our road on Thursday and I asked the driver, very \
politely, whether I could have some. He tipped half a load by the allotment gate, and three \
of us spent the evening filling sacks by torchlight.</p>
<p>Leaf mould is the slowest compost there is: stuff the leaves into a sack, wet them, stab a \
few holes in it, and forget about it for two years. What comes out is dark, crumbly and smells \
like a wood after rain. It is the best seed compost I know, and it costs a conversation with a \
man in a lorry.</p>
"""

_BLOGGER_SLUGS = """\
<p>A tally of the season, for the record and for my own humility:</p>
<ul>
  <li>Lettuce: two sowings, one harvest. The first sowing was eaten overnight.</li>
  <li>French beans: fine, once they were taller than a slug's ambition.</li>
  <li>Dahlias: gone. All of them. I am not ready to talk about it.</li>
  <li>Courgettes: too many, as usual; the slugs did their best and still could not keep up.</li>
</ul>
<p>Next year: beer traps, a copper band round the raised bed, and more frogs. The pond is \
dug; the frogs have not yet read the plan.</p>
"""

_TIDEWATER_04 = """\
<p>Tidewater 0.4 is out. The headline change is a new <code>--range</code> column, which \
prints the difference between each high water and the low water before it, matching the new \
printed tables at Saltmarsh Quay.</p>
<p>Other changes: times are now printed in the local zone by default (use <code>--utc</code> \
for the old behaviour), the harmonic constants for four more ports are included, and the \
program no longer crashes when the terminal is narrower than forty columns.</p>
"""

_TIDEWATER_ASK = """\
<p>We have harmonic constants for nine harbours and requests for about thirty. Before we go \
hunting for the data, tell us which harbours you would use. Reply to this item with your \
feed reader if it speaks the CommentAPI, or by e-mail if it does not; we read everything.</p>
<p>Please say which harbour, what you would use the tables for (fishing, sailing, swimming, \
curiosity) and whether you need heights, times or both.</p>
"""

_TIDEWATER_031 = """\
<p>Tidewater 0.3.1 fixes a bug that printed the 29th of February 2028 twice and the 1st of \
March not at all. Thanks to the two people who noticed in the same week, from opposite sides \
of the estuary.</p>
"""

POSTS: tuple[PostSeed, ...] = (
    PostSeed(
        4,
        WORDPRESS,
        "news",
        "harbour-wall-repairs",
        "Harbour wall repairs to start before the spring tides",
        "Morwenna Pike",
        "Harbour",
        _ts(3, 9, 15),
        _ts(3, 9, 15),
        _NEWS,
    ),
    PostSeed(
        7,
        WORDPRESS,
        "showcase",
        "tide-tables-explained",
        "How to read the new tide tables (with a worked example)",
        "Idris Quill",
        "Guides",
        _ts(9, 14, 30),
        _ts(10, 8, 5),
        _SHOWCASE,
    ),
    PostSeed(
        9,
        WORDPRESS,
        "long",
        "a-year-of-harbour-logs",
        "A year of harbour logs, transcribed in full",
        "Idris Quill",
        "Archive",
        _ts(12, 11, 0),
        _ts(12, 11, 0),
        "",  # generated: see long_post_body()
    ),
    PostSeed(
        12,
        WORDPRESS,
        "closed",
        "winter-ferry-timetable",
        "Winter ferry timetable",
        "Morwenna Pike",
        "Notices",
        _ts(16, 7, 45),
        _ts(16, 7, 45),
        _CLOSED,
        comments_open=False,
    ),
    PostSeed(
        15,
        WORDPRESS,
        "threaded",
        "fish-market-move",
        "Should the fish market move to the old rope works?",
        "Morwenna Pike",
        "Town",
        _ts(20, 17, 0),
        _ts(20, 17, 0),
        _THREADED,
    ),
    PostSeed(
        21,
        BLOGGER,
        "blogger-comments",
        "garlic-before-the-frost",
        "Garlic in before the first frost",
        "Hester Rowe",
        "Alliums",
        _ts(6, 16, 20),
        _ts(6, 16, 20),
        _BLOGGER_GARLIC,
    ),
    PostSeed(
        22,
        BLOGGER,
        "blogger-quiet",
        "leaf-mould",
        "Leaf mould: the slowest compost",
        "Hester Rowe",
        "Soil",
        _ts(14, 19, 5),
        _ts(14, 19, 5),
        _BLOGGER_LEAFMOULD,
    ),
    PostSeed(
        23,
        BLOGGER,
        "blogger-thread",
        "what-the-slugs-left",
        "What the slugs left us this year",
        "Hester Rowe",
        "Pests",
        _ts(22, 10, 40),
        _ts(22, 10, 40),
        _BLOGGER_SLUGS,
    ),
    PostSeed(
        31,
        COMMENTAPI,
        "release",
        "tidewater-0-4",
        "Tidewater 0.4 is out",
        "Tidewater maintainers",
        "Releases",
        _ts(18, 12, 0),
        _ts(18, 12, 0),
        _TIDEWATER_04,
        comments_open=False,
    ),
    PostSeed(
        32,
        COMMENTAPI,
        "commentapi",
        "which-harbours-next",
        "Tell us which harbours to add next",
        "Tidewater maintainers",
        "Community",
        _ts(19, 9, 30),
        _ts(19, 9, 30),
        _TIDEWATER_ASK,
    ),
    PostSeed(
        33,
        COMMENTAPI,
        "bugfix",
        "tidewater-0-3-1",
        "Tidewater 0.3.1 fixes the leap-year bug",
        "Tidewater maintainers",
        "Releases",
        _ts(4, 15, 0),
        _ts(4, 15, 0),
        _TIDEWATER_031,
        comments_open=False,
    ),
)

COMMENTS: tuple[CommentSeed, ...] = (
    CommentSeed(
        2,
        4,
        0,
        "Jory Penrose",
        "jory@example.com",
        "",
        _ts(3, 12, 2),
        "Forty metres of loose blocks and they call it not urgent. I moor right under that "
        "stretch. Glad it is finally being done.",
    ),
    CommentSeed(
        3,
        4,
        0,
        "Ann Treloar",
        "ann.treloar@example.org",
        "https://example.org/~ann",
        _ts(4, 8, 40),
        "I was one of the children in the 1987 photograph, on my father's shoulders by the "
        "ice house. I will bring it to the drop-in session.\n\n"
        "Does anyone know whether the crane will be lit at night?",
    ),
    CommentSeed(
        5,
        9,
        0,
        "Bryher Noon",
        "bryher@example.net",
        "",
        _ts(13, 21, 15),
        "I read every word of this over two evenings. The entry about the heron on the "
        "fuel pontoon made me laugh out loud.",
    ),
    CommentSeed(
        6,
        15,
        0,
        "Kit Hallow",
        "kit.hallow@example.com",
        "",
        _ts(20, 18, 3),
        "Move it. The quay market is freezing, it floods twice a winter and there is "
        "nowhere to park a van. The rope works has a floor you could land a plane on.",
    ),
    CommentSeed(
        7,
        15,
        6,
        "Senara Vose",
        "senara@example.org",
        "https://example.org/senara",
        _ts(20, 19, 41),
        "And nobody would see it. Half the people who buy from the market only stop because "
        "they were already walking along the quay. Put it up Mill Lane and it becomes a "
        "trip, not a habit.",
    ),
    CommentSeed(
        8,
        15,
        7,
        "Kit Hallow",
        "kit.hallow@example.com",
        "",
        _ts(20, 20, 12),
        "A sign on the quay and a good smell of smoked mackerel would do most of the work.",
    ),
    CommentSeed(
        9,
        15,
        7,
        "Tamsin Gool",
        "tamsin@example.net",
        "",
        _ts(21, 7, 55),
        "I run the smokehouse. I would take a stall at the rope works tomorrow, but only if "
        "the boats still land on the quay and someone sorts out the lorry turning at the "
        "bottom of the lane.",
    ),
    CommentSeed(
        10,
        15,
        0,
        "Peder Male",
        "peder@example.com",
        "",
        _ts(21, 9, 20),
        "Could the council not simply fix the roof of the market we have? Eleven years empty "
        "says something about the rope works too.\n\n"
        "Genuine question: has anyone priced both options?",
    ),
    CommentSeed(
        11,
        15,
        10,
        "Morwenna Pike",
        "editor@example.org",
        "",
        _ts(21, 11, 0),
        "The consultation papers have rough figures for both. We will publish a summary "
        "before the end of the month.",
    ),
    CommentSeed(
        12,
        15,
        11,
        "Peder Male",
        "peder@example.com",
        "",
        _ts(21, 12, 34),
        "Thank you. I will wait for that before I decide.",
    ),
    CommentSeed(
        13,
        21,
        0,
        "Olwen Marsh",
        "olwen@example.com",
        "",
        _ts(7, 8, 12),
        "Fleece over garlic is a good trick. I use old net curtains, which the blackbirds "
        "seem to respect more than fleece.",
    ),
    CommentSeed(
        14,
        21,
        13,
        "Hester Rowe",
        "hester@example.org",
        "",
        _ts(7, 18, 30),
        "Net curtains! I shall raid my mother's loft.",
    ),
    CommentSeed(
        15,
        23,
        0,
        "Gwil Tresize",
        "gwil@example.net",
        "",
        _ts(22, 13, 0),
        "Sorry about the dahlias. Mine went the same way in July. Start them in pots and "
        "plant them out big.",
    ),
    CommentSeed(
        16,
        23,
        0,
        "Olwen Marsh",
        "olwen@example.com",
        "",
        _ts(22, 20, 45),
        "Frogs take a year to find a new pond. Toads are quicker, in my experience.",
    ),
    CommentSeed(
        17,
        23,
        16,
        "Hester Rowe",
        "hester@example.org",
        "",
        _ts(23, 7, 10),
        "Then I will wait for the toads. Patience is the main crop on this plot.",
    ),
    CommentSeed(
        18,
        32,
        0,
        "Mabyn Clowes",
        "mabyn@example.com",
        "",
        _ts(19, 20, 5),
        "Penhallow, please. I swim off the steps there every morning and would like to know "
        "when the water covers the third step.",
    ),
)

# The first comment id handed out to a comment posted while the site runs.
FIRST_NEW_COMMENT_ID = 19


# --- the long post ------------------------------------------------------------------------

_VESSELS = (
    "the Morwenna Jane",
    "the pilot cutter",
    "Good Intent",
    "the dredger from upriver",
    "a yacht flying a Breton ensign",
    "the Brothers Three",
    "the lifeboat on exercise",
    "Kestrel",
    "the sand barge",
    "two kayaks from the outdoor centre",
    "the Penhallow ferry",
    "the survey launch",
    "Little Wren",
    "the oyster punt",
    "a Dutch barge on its way south",
)
_CARGO = (
    "forty boxes of mackerel",
    "a deck of crab pots",
    "timber for the boatyard",
    "a load of sand",
    "nothing but a tired crew",
    "three passengers and a bicycle",
    "diesel for the fuel pontoon",
    "scallops, weighed and tagged",
    "a broken winch",
    "the post for the island",
)
_WEATHER = (
    "a light northerly",
    "fog until noon",
    "a steady drizzle",
    "bright sun and a cold wind",
    "a long swell from the south-west",
    "squalls through the afternoon",
    "flat calm",
    "a fresh easterly that rattled the halyards",
    "low cloud on the hill",
    "sleet for an hour at dusk",
)
_TIDES = ("morning", "evening", "midday", "night", "first", "last")
_PEOPLE = (
    "the harbour master",
    "the night watchman",
    "the assistant at the fuel pontoon",
    "a visiting skipper",
    "the coxswain",
    "the boatyard foreman",
    "the ice house manager",
    "a child with a crabbing line",
)
_REMARKS = (
    "asked for the berth by the steps and was given the one by the ladder",
    "reported a lobster pot buoy adrift off the point",
    "complained, correctly, about the state of the toilets",
    "left a thank-you note pinned to the office door",
    "paid in coins, most of them old",
    "noted the harbour light flickering again",
    "brought cake for the office",
    "lost a fender overboard and recovered it at low water",
    "asked whether the sprats had arrived yet",
    "counted eleven cormorants on the breakwater",
)
_NOTES = (
    "The heron was back on the fuel pontoon and refused to move for the diesel hose.",
    "Ice machine serviced; it still makes the noise.",
    "Tide gauge read two centimetres low against the painted board; noted for the engineers.",
    "Seals in the outer basin all afternoon.",
    "The visitors' book ran out of pages and a new one was started.",
    "Gulls took a pasty from the bench by the harbour office, as is tradition.",
    "Inner basin dried at low water; three boats sat on the mud, all upright.",
    "Quiet day. Painted the bollards on the south quay.",
    "A pod of dolphins was reported off the headland by the ferry crew.",
    "The chandlery had its window display changed, to general approval.",
)
_SENTENCES = (
    "{vessel} came in on the {tide} tide with {cargo}.",
    "{vessel} left on the {tide} tide in {weather}.",
    "Weather: {weather}.",
    "{person} {remark}.",
    "{vessel} took on water and fuel, then waited for the {tide} tide.",
    "By the {tide} tide the wind had backed, and {vessel} stayed in.",
    "{person} noted {weather} and logged it twice, to be sure.",
    "{note}",
)
_MONTHS = (
    "December",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
)

LONG_POST_TARGET_WORDS = 40_000


def _log_sentence(rng: random.Random) -> str:
    template = rng.choice(_SENTENCES)
    sentence = template.format(
        vessel=rng.choice(_VESSELS),
        tide=rng.choice(_TIDES),
        cargo=rng.choice(_CARGO),
        weather=rng.choice(_WEATHER),
        person=rng.choice(_PEOPLE),
        remark=rng.choice(_REMARKS),
        note=rng.choice(_NOTES),
    )
    return sentence[0].upper() + sentence[1:]


@cache
def long_post_body() -> str:
    """A deterministic post of about LONG_POST_TARGET_WORDS words: a year of harbour logs."""
    rng = random.Random(1987)
    parts = [
        "<p>The harbour office keeps a log in a green ledger by the radio. These are a year's "
        "entries, copied out by volunteers over the summer, spelling and all. Nothing has "
        "been left out; that is rather the point.</p>"
    ]
    words = 40
    month_index = 0
    while words < LONG_POST_TARGET_WORDS:
        month = _MONTHS[month_index % len(_MONTHS)]
        parts.append(f"<h2>{month}</h2>")
        words += 1
        for day in range(1, 29):
            sentences = [_log_sentence(rng) for _ in range(rng.randint(4, 8))]
            paragraph = " ".join(sentences)
            parts.append(f"<p><strong>{day} {month}.</strong> {paragraph}</p>")
            words += len(paragraph.split()) + 2
            if words >= LONG_POST_TARGET_WORDS:
                break
        month_index += 1
    parts.append("<p>End of the ledger. The next one is already half full.</p>")
    return "\n".join(parts)


def post_body(post: PostSeed, base: str) -> str:
    body = long_post_body() if post.role == "long" else post.body
    return body.replace("{base}", base)


# --- images ---------------------------------------------------------------------------------


@cache
def sample_png(width: int = 64, height: int = 32) -> bytes:
    """A small striped PNG, so the image links in the sample posts resolve to something."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        shade = (20, 90, 140) if (y // 4) % 2 else (220, 230, 240)
        rows.extend(bytes(shade) * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )
