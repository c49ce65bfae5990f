"""Feed documents of the sample site: WordPress RSS/Atom/JSON Feed, Blogger Atom, CommentAPI RSS.

Shapes follow what the real software emits (see WORDPRESS.md), except that self links
carry the port: the sample site has no reason to copy WordPress 6.1's port bug.
"""

from __future__ import annotations

import json
import re

from termnews.demo.blog import (
    BLOGGER_BLOG_ID,
    Blog,
    DemoPost,
    escape_text,
    iso_z,
    rfc822,
)
from termnews.demo.content import BLOGGER, BLOGS, COMMENTAPI, WORDPRESS
from termnews.demo.state import StoredComment

ITEMS_PER_FEED = 10  # WordPress' default "posts_per_rss", used for comment feeds too
GENERATOR = "termnews demo site"

_RSS_OPEN = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:atom="http://www.w3.org/2005/Atom"
\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"
\t>
"""

_TAGS = re.compile(r"<[^>]+>")


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def excerpt(html_text: str, words: int = 55) -> str:
    """A plain-text excerpt like WordPress' RSS description: the first words and [&#8230;]."""
    plain = " ".join(_TAGS.sub(" ", html_text).split())
    parts = plain.split(" ")
    if len(parts) <= words:
        return plain
    return " ".join(parts[:words]) + " [&#8230;]"


def _plain_comment(comment_html: str) -> str:
    return " ".join(_TAGS.sub("", comment_html).split())


def _rss_channel_head(title: str, self_url: str, link: str, description: str, built: float) -> str:
    return (
        f"<channel>\n\t<title>{escape_text(title)}</title>\n"
        f'\t<atom:link href="{escape_text(self_url)}" rel="self" type="application/rss+xml" />\n'
        f"\t<link>{escape_text(link)}</link>\n"
        f"\t<description>{escape_text(description)}</description>\n"
        f"\t<lastBuildDate>{rfc822(built)}</lastBuildDate>\n"
        "\t<language>en-US</language>\n"
        "\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>\n"
        "\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>\n"
        f"\t<generator>{GENERATOR}</generator>\n"
    )


def _post_rss_item(blog: Blog, post: DemoPost, *, with_api: bool = False) -> str:
    seed = blog.seeds[post.id]
    body = blog.body(post.id)
    out = [
        "\t<item>\n",
        f"\t\t<title>{escape_text(post.title)}</title>\n",
        f"\t\t<link>{escape_text(post.url)}</link>\n",
    ]
    count = blog.comment_count(post.id)
    show_meta = blog.shows_comment_meta(post)
    if show_meta:
        anchor = "#comments" if count else "#respond"
        out.append(f"\t\t<comments>{escape_text(post.url + anchor)}</comments>\n")
    out += [
        f"\t\t<dc:creator>{cdata(post.author)}</dc:creator>\n",
        f"\t\t<pubDate>{rfc822(post.published)}</pubDate>\n",
        f"\t\t<category>{cdata(seed.category)}</category>\n",
        f'\t\t<guid isPermaLink="false">{escape_text(post.guid)}</guid>\n',
        f"\n\t\t\t\t\t<description>{cdata(excerpt(body))}</description>\n",
        f"\t\t\t\t\t\t\t\t\t\t<content:encoded>{cdata(body)}</content:encoded>\n",
    ]
    if with_api and post.comment_api_url:
        out.append(f"\t\t<wfw:comment>{escape_text(post.comment_api_url)}</wfw:comment>\n")
    if show_meta and post.comments_feed_url:
        out.append(
            f"\t\t\t\t\t<wfw:commentRss>{escape_text(post.comments_feed_url)}</wfw:commentRss>\n"
            f"\t\t\t<slash:comments>{count}</slash:comments>\n"
        )
    out.append("\t\t</item>\n")
    return "".join(out)


def posts_rss(blog: Blog, which: str, self_url: str) -> str:
    """The posts feed of the WordPress blog or of the CommentAPI blog."""
    info = BLOGS[which]
    posts = blog.posts_of(which)[:ITEMS_PER_FEED]
    head = _rss_channel_head(
        info.title, self_url, blog.blog_url(which), info.tagline, blog.posts_modified(which)
    )
    items = "".join(_post_rss_item(blog, p, with_api=which == COMMENTAPI) for p in posts)
    return _RSS_OPEN + head + items + "\t</channel>\n</rss>\n"


def posts_json(blog: Blog, self_url: str) -> str:
    """The WordPress blog's posts as JSON Feed 1.1 (as a JSON Feed plugin serves /feed/json/)."""
    info = BLOGS[WORDPRESS]
    items = [
        {
            "id": post.guid,
            "url": post.url,
            "title": post.title,
            "content_html": blog.body(post.id),
            "summary": excerpt(blog.body(post.id)).replace(" [&#8230;]", " …"),
            "date_published": iso_z(post.published),
            "authors": [{"name": post.author}],
            "tags": [blog.seeds[post.id].category],
        }
        for post in blog.posts_of(WORDPRESS)[:ITEMS_PER_FEED]
    ]
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": blog.blog_url(WORDPRESS),
        "feed_url": self_url,
        "description": info.tagline,
        "language": "en-US",
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def posts_atom(blog: Blog, self_url: str) -> str:
    """WordPress' /feed/atom/ with replies links and thr:total."""
    info = BLOGS[WORDPRESS]
    posts = blog.posts_of(WORDPRESS)[:ITEMS_PER_FEED]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?><feed\n'
        '  xmlns="http://www.w3.org/2005/Atom"\n'
        '  xmlns:thr="http://purl.org/syndication/thread/1.0"\n'
        '  xml:lang="en-US"\n  >\n',
        f'\t<title type="text">{escape_text(info.title)}</title>\n',
        f'\t<subtitle type="text">{escape_text(info.tagline)}</subtitle>\n\n',
        f"\t<updated>{iso_z(blog.posts_modified(WORDPRESS))}</updated>\n\n",
        f'\t<link rel="alternate" type="text/html" href="{escape_text(blog.base)}" />\n',
        f"\t<id>{escape_text(self_url)}</id>\n",
        f'\t<link rel="self" type="application/atom+xml" href="{escape_text(self_url)}" />\n\n',
        f"\t<generator>{GENERATOR}</generator>\n",
    ]
    for post in posts:
        seed = blog.seeds[post.id]
        body = blog.body(post.id)
        count = blog.comment_count(post.id)
        out += [
            "\t<entry>\n\t\t<author>\n",
            f"\t\t\t<name>{escape_text(post.author)}</name>\n\t\t</author>\n\n",
            f'\t\t<title type="html">{cdata(post.title)}</title>\n',
            f'\t\t<link rel="alternate" type="text/html" href="{escape_text(post.url)}" />\n\n',
            f"\t\t<id>{escape_text(post.guid)}</id>\n",
            f"\t\t<updated>{iso_z(seed.modified)}</updated>\n",
            f"\t\t<published>{iso_z(post.published)}</published>\n",
            f'\t\t<category scheme="{escape_text(blog.base)}" '
            f'term="{escape_text(seed.category)}" />\n',
            f'\t\t<summary type="html">{cdata(excerpt(body))}</summary>\n\n',
            f'\t\t<content type="html" xml:base="{escape_text(post.url)}">',
            f"{cdata(body)}</content>\n",
        ]
        if blog.shows_comment_meta(post):
            out += [
                f'\t\t\t\t\t<link rel="replies" type="text/html" '
                f'href="{escape_text(post.url)}#comments" thr:count="{count}" />\n',
                f'\t\t\t<link rel="replies" type="application/atom+xml" '
                f'href="{escape_text(post.comments_atom_url or "")}" thr:count="{count}" />\n',
                f"\t\t\t<thr:total>{count}</thr:total>\n",
            ]
        out.append("\t</entry>\n")
    out.append("</feed>\n")
    return "".join(out)


def _comments_of(blog: Blog, post: DemoPost | None, which: str) -> list[StoredComment]:
    ids = {post.id} if post is not None else {p.id for p in blog.posts_of(which)}
    return blog.store.approved(ids)[:ITEMS_PER_FEED]


def comments_rss(blog: Blog, post: DemoPost | None, self_url: str, which: str = WORDPRESS) -> str:
    """A per-post comment feed (`post` given) or the site-wide one, RSS 2.0, newest first."""
    info = BLOGS[which]
    comments = _comments_of(blog, post, which)
    if post is not None:
        title, link = f"Comments on: {post.title}", post.url
    else:
        title, link = f"Comments for {info.title}", blog.blog_url(which)
    built = max([c.date for c in comments], default=blog.posts_modified(which))
    out = [_RSS_OPEN.replace('\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n', "")]
    out.append(_rss_channel_head(title, self_url, link, info.tagline, built))
    for comment in comments:
        item_title, text, link = _comment_item(blog, post, comment)
        out += [
            "\t<item>\n",
            f"\t\t<title>{escape_text(item_title)}</title>\n",
            f"\t\t<link>{escape_text(link)}</link>\n\n",
            f"\t\t<dc:creator>{cdata(comment.author)}</dc:creator>\n",
            f"\t\t<pubDate>{rfc822(comment.date)}</pubDate>\n",
            f'\t\t<guid isPermaLink="false">{escape_text(link)}</guid>\n',
            f"\t\t\t\t\t<description>{cdata(_plain_comment(text))}</description>\n",
            f"\t\t<content:encoded>{cdata(text)}</content:encoded>\n\n",
            "\t\t\t\t\t\t\t</item>\n",
        ]
    out.append("\t</channel>\n</rss>\n")
    return "".join(out)


def _comment_item(
    blog: Blog, post: DemoPost | None, comment: StoredComment
) -> tuple[str, str, str]:
    """A comment's entry title, HTML text and permalink, as both comment feeds show them."""
    if post is not None:
        title = f"By: {comment.author}"
    else:
        title = f"Comment on {blog.posts[comment.post_id].title} by {comment.author}"
    return title, blog.reply_prefix(comment) + comment.content_html, blog.comment_link(comment)


def comments_atom(blog: Blog, post: DemoPost | None, self_url: str) -> str:
    """WordPress' Atom comment feed, entries with thr:in-reply-to."""
    info = BLOGS[WORDPRESS]
    comments = _comments_of(blog, post, WORDPRESS)
    if post is not None:
        title, link = f"Comments on: {post.title}", post.url
    else:
        title, link = f"Comments for {info.title}", blog.base
    updated = max([c.date for c in comments], default=blog.posts_modified(WORDPRESS))
    out = [
        '<?xml version="1.0" encoding="UTF-8"?><feed\n'
        '\txmlns="http://www.w3.org/2005/Atom"\n'
        '\txml:lang="en-US"\n'
        '\txmlns:thr="http://purl.org/syndication/thread/1.0"\n\t>\n',
        f'\t<title type="text">{escape_text(title)}</title>\n',
        f'\t<subtitle type="text">{escape_text(info.tagline)}</subtitle>\n\n',
        f"\t<updated>{iso_z(updated)}</updated>\n\n",
        f'\t<link rel="alternate" type="text/html" href="{escape_text(link)}" />\n',
        f'\t<link rel="self" type="application/atom+xml" href="{escape_text(self_url)}" />\n',
        f"\t<id>{escape_text(self_url)}</id>\n",
    ]
    for comment in comments:
        item_title, text, link = _comment_item(blog, post, comment)
        author_uri = f"\t\t\t<uri>{escape_text(comment.url)}</uri>\n" if comment.url else ""
        parent = blog.store.get(comment.parent) if comment.parent else None
        if parent is not None:
            ref, href = blog.comment_guid(parent), blog.comment_link(parent)
        else:
            on = blog.posts[comment.post_id]
            ref, href = on.guid, on.url
        out += [
            "\t<entry>\n",
            f"\t\t<title>{escape_text(item_title)}</title>\n",
            f'\t\t<link rel="alternate" href="{escape_text(link)}" type="text/html" />\n',
            "\t\t<author>\n",
            f"\t\t\t<name>{escape_text(comment.author)}</name>\n{author_uri}\t\t</author>\n\n",
            f"\t\t<id>{escape_text(blog.comment_guid(comment))}</id>\n",
            f"\t\t<updated>{iso_z(comment.date)}</updated>\n",
            f"\t\t<published>{iso_z(comment.date)}</published>\n\n",
            f'\t\t<content type="html" xml:base="{escape_text(link)}">{cdata(text)}</content>\n\n',
            f'\t\t<thr:in-reply-to ref="{escape_text(ref)}" href="{escape_text(href)}" '
            'type="text/html" />\n',
            "\t</entry>\n",
        ]
    out.append("</feed>\n")
    return "".join(out)


# --- Blogger ----------------------------------------------------------------------------------

_BLOGGER_OPEN = (
    "<?xml version='1.0' encoding='UTF-8'?>"
    "<feed xmlns='http://www.w3.org/2005/Atom' "
    "xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/' "
    "xmlns:blogger='http://schemas.google.com/blogger/2008' "
    "xmlns:gd='http://schemas.google.com/g/2005' "
    "xmlns:thr='http://purl.org/syndication/thread/1.0'>"
)
_BLOGGER_AUTHOR = (
    "<author><name>Hester Rowe</name><email>noreply@blogger.com</email>"
    "<gd:image rel='http://schemas.google.com/g/2005#thumbnail' width='16' height='16' "
    "src='https://img1.blogblog.com/img/b16-rounded.gif'/></author>"
)


def blogger_posts(blog: Blog) -> str:
    info = BLOGS[BLOGGER]
    home = blog.blog_url(BLOGGER)
    feed = home + "feeds/posts/default"
    posts = blog.posts_of(BLOGGER)
    out = [
        _BLOGGER_OPEN,
        f"<id>tag:blogger.com,1999:blog-{BLOGGER_BLOG_ID}</id>",
        f"<updated>{iso_z(blog.posts_modified(BLOGGER))}</updated>",
    ]
    for category in sorted({blog.seeds[p.id].category for p in posts}):
        out.append(f"<category term='{escape_text(category)}'/>")
    out += [
        f"<title type='text'>{escape_text(info.title)}</title>",
        f"<subtitle type='html'>{escape_text(info.tagline)}</subtitle>",
        f"<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' "
        f"href='{escape_text(feed)}'/>",
        f"<link rel='self' type='application/atom+xml' href='{escape_text(feed)}'/>",
        f"<link rel='alternate' type='text/html' href='{escape_text(home)}'/>",
        _BLOGGER_AUTHOR,
        "<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>",
        f"<openSearch:totalResults>{len(posts)}</openSearch:totalResults>",
        "<openSearch:startIndex>1</openSearch:startIndex>",
        "<openSearch:itemsPerPage>25</openSearch:itemsPerPage>",
    ]
    for post in posts:
        seed = blog.seeds[post.id]
        count = blog.comment_count(post.id)
        noun = "Comment" if count == 1 else "Comments"
        replies_feed = escape_text(post.comments_feed_url or "")
        self_link = escape_text(f"{feed}/{post.id}")
        out += [
            f"<entry><id>{escape_text(post.guid)}</id>",
            f"<published>{iso_z(post.published)}</published>",
            f"<updated>{iso_z(seed.modified)}</updated>",
            "<category scheme='http://www.blogger.com/atom/ns#' "
            f"term='{escape_text(seed.category)}'/>",
            f"<title type='text'>{escape_text(post.title)}</title>",
            f"<content type='html'>{escape_text(blog.body(post.id))}</content>",
            f"<link rel='replies' type='application/atom+xml' href='{replies_feed}' "
            f"title='Post Comments' thr:count='{count}'/>",
            f"<link rel='replies' type='text/html' href='{escape_text(post.url)}#comment-form' "
            f"title='{count} {noun}' thr:count='{count}'/>",
            f"<link rel='self' type='application/atom+xml' href='{self_link}'/>",
            f"<link rel='alternate' type='text/html' href='{escape_text(post.url)}' "
            f"title='{escape_text(post.title)}'/>",
            _BLOGGER_AUTHOR,
            f"<thr:total>{count}</thr:total></entry>",
        ]
    out.append("</feed>")
    return "".join(out)


def blogger_comments(blog: Blog, post: DemoPost) -> str:
    feed = post.comments_feed_url or ""
    posts_feed = blog.blog_url(BLOGGER) + "feeds/posts/default"
    comments = list(reversed(blog.store.for_post(post.id)))  # newest first
    updated = max([c.date for c in comments], default=post.published)
    out = [
        _BLOGGER_OPEN,
        f"<id>tag:blogger.com,1999:blog-{BLOGGER_BLOG_ID}.post{post.id}..comments</id>",
        f"<updated>{iso_z(updated)}</updated>",
        f"<title type='text'>{escape_text(post.title)}</title>",
        f"<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' "
        f"href='{escape_text(feed)}'/>",
        f"<link rel='self' type='application/atom+xml' href='{escape_text(feed)}'/>",
        f"<link rel='alternate' type='text/html' href='{escape_text(post.url)}'/>",
        _BLOGGER_AUTHOR,
        "<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>",
        f"<openSearch:totalResults>{len(comments)}</openSearch:totalResults>",
        "<openSearch:startIndex>1</openSearch:startIndex>",
        "<openSearch:itemsPerPage>25</openSearch:itemsPerPage>",
    ]
    for comment in comments:
        text = comment.content_html.strip()
        link = blog.comment_link(comment)
        uri = f"<uri>{escape_text(comment.url)}</uri>" if comment.url else ""
        parent = blog.store.get(comment.parent) if comment.parent else None
        if parent is not None:
            ref, href = blog.comment_guid(parent), blog.comment_link(parent)
        else:
            ref, href = post.guid, post.url
        out += [
            f"<entry><id>{escape_text(blog.comment_guid(comment))}</id>",
            f"<published>{iso_z(comment.date)}</published>",
            f"<updated>{iso_z(comment.date)}</updated>",
            f"<title type='text'>{escape_text(_plain_comment(text)[:60])}</title>",
            f"<content type='html'>{escape_text(text)}</content>",
            f"<link rel='alternate' type='text/html' href='{escape_text(link)}' title=''/>",
            f"<author><name>{escape_text(comment.author)}</name>{uri}"
            "<email>noreply@blogger.com</email></author>",
            f"<thr:in-reply-to href='{escape_text(href)}' ref='{escape_text(ref)}' "
            f"source='{escape_text(posts_feed)}/{post.id}' type='text/html'/>",
            "</entry>",
        ]
    out.append("</feed>")
    return "".join(out)
