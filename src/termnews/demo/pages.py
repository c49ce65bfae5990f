"""HTML pages of the sample site: homes, post pages with their discussion, error pages."""

from __future__ import annotations

from datetime import UTC, datetime

from termnews.demo.blog import Blog, DemoPost, escape_text
from termnews.demo.content import BLOGGER, BLOGS, COMMENTAPI, WORDPRESS
from termnews.demo.state import StoredComment


def _head(title: str, links: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{escape_text(title)}</title>\n" + "".join(link + "\n" for link in links)
    )


def _alternate(kind: str, title: str, href: str) -> str:
    return (
        f'<link rel="alternate" type="{kind}" title="{escape_text(title)}" '
        f'href="{escape_text(href)}" />'
    )


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%-d %B %Y at %H:%M")


def site_links(blog: Blog) -> list[str]:
    """The feeds the home page advertises: the main one first, the comments feed last."""
    wp = BLOGS[WORDPRESS].title
    return [
        _alternate("application/rss+xml", f"{wp} &raquo; Feed", blog.base + "feed/"),
        _alternate(
            "application/atom+xml",
            BLOGS[BLOGGER].title,
            blog.blog_url(BLOGGER) + "feeds/posts/default",
        ),
        _alternate(
            "application/rss+xml", BLOGS[COMMENTAPI].title, blog.blog_url(COMMENTAPI) + "rss.xml"
        ),
        _alternate(
            "application/rss+xml", f"{wp} &raquo; Comments Feed", blog.base + "comments/feed/"
        ),
    ]


def _post_list(blog: Blog, which: str) -> str:
    items = []
    for post in blog.posts_of(which):
        count = blog.comment_count(post.id)
        items.append(
            f'<li><a href="{escape_text(post.url)}">{escape_text(post.title)}</a> '
            f"<small>{_date(post.published)} &middot; {count} comments</small></li>"
        )
    return '<ul class="post-list">\n' + "\n".join(items) + "\n</ul>\n"


def home(blog: Blog) -> str:
    info = BLOGS[WORDPRESS]
    links = [*site_links(blog), f'<link rel="https://api.w.org/" href="{blog.base}wp-json/" />']
    others = "".join(
        f'<li><a href="{escape_text(blog.blog_url(key))}">{escape_text(BLOGS[key].title)}</a>'
        f" &mdash; {escape_text(BLOGS[key].tagline)}</li>"
        for key in (BLOGGER, COMMENTAPI)
    )
    return (
        _head(f"{info.title} &#8211; {info.tagline}", links) + '</head>\n<body class="home blog">\n'
        f"<header><h1>{escape_text(info.title)}</h1><p>{escape_text(info.tagline)}</p></header>\n"
        "<main>\n"
        + _post_list(blog, WORDPRESS)
        + "<h2>Also on this site</h2>\n<ul>"
        + others
        + "</ul>\n"
        "<p>This is termnews' sample site. It runs on your own machine and nothing you post "
        "here leaves it.</p>\n</main>\n</body>\n</html>\n"
    )


def blog_home(blog: Blog, which: str, feed_kind: str, feed_url: str) -> str:
    info = BLOGS[which]
    links = [_alternate(feed_kind, info.title, feed_url)]
    return (
        _head(info.title, links) + "</head>\n<body>\n"
        f"<header><h1>{escape_text(info.title)}</h1><p>{escape_text(info.tagline)}</p></header>\n"
        "<main>\n" + _post_list(blog, which) + "</main>\n</body>\n</html>\n"
    )


def _comment_tree(blog: Blog, post: DemoPost, comments: list[StoredComment], replies: bool) -> str:
    children: dict[int, list[StoredComment]] = {}
    for comment in comments:
        children.setdefault(comment.parent, []).append(comment)

    def render(parent: int, depth: int) -> str:
        out = []
        for comment in children.get(parent, []):
            author = escape_text(comment.author)
            if comment.url:
                author = (
                    f'<a href="{escape_text(comment.url)}" rel="external nofollow ugc">{author}</a>'
                )
            held = (
                '<em class="comment-awaiting-moderation">'
                "Your comment is awaiting moderation.</em>\n"
                if comment.status != "approved"
                else ""
            )
            reply = (
                f"<div class=\"reply\"><a rel='nofollow' class='comment-reply-link' "
                f"href='?replytocom={comment.id}#respond' data-commentid=\"{comment.id}\" "
                f'data-postid="{post.id}">Reply</a></div>\n'
                if replies
                else ""
            )
            nested = render(comment.id, depth + 1)
            if nested:
                nested = f'<ol class="children">\n{nested}</ol>\n'
            out.append(
                f'<li id="comment-{comment.id}" class="comment depth-{depth}">\n'
                f'<article id="div-comment-{comment.id}" class="comment-body">\n'
                '<footer class="comment-meta"><div class="comment-author vcard">'
                f'<b class="fn">{author}</b> <span class="says">says:</span></div>\n'
                '<div class="comment-metadata">'
                f'<a href="{escape_text(blog.comment_link(comment))}">'
                f'<time datetime="{datetime.fromtimestamp(comment.date, UTC).isoformat()}">'
                f"{_date(comment.date)}</time></a></div>\n{held}</footer>\n"
                f'<div class="comment-content">\n{comment.content_html}</div>\n{reply}'
                f"</article>\n{nested}</li>\n"
            )
        return "".join(out)

    return render(0, 1)


def comment_form(blog: Blog, post: DemoPost, parent: int = 0) -> str:
    return f"""<div id="respond" class="comment-respond">
<h3 id="reply-title" class="comment-reply-title">Leave a Reply <small><a rel="nofollow" \
id="cancel-comment-reply-link" href="{escape_text(post.url)}#respond" style="display:none;">\
Cancel reply</a></small></h3>
<form action="{blog.base}wp-comments-post.php" method="post" id="commentform" \
class="comment-form" novalidate>
<p class="comment-notes"><span id="email-notes">Your email address will not be published.\
</span> <span class="required-field-message">Required fields are marked \
<span class="required">*</span></span></p>
<p class="comment-form-comment"><label for="comment">Comment <span class="required">*</span>\
</label> <textarea id="comment" name="comment" cols="45" rows="8" maxlength="65525" required>\
</textarea></p>
<p class="comment-form-author"><label for="author">Name <span class="required">*</span></label> \
<input id="author" name="author" type="text" value="" size="30" maxlength="245" \
autocomplete="name" required /></p>
<p class="comment-form-email"><label for="email">Email <span class="required">*</span></label> \
<input id="email" name="email" type="email" value="" size="30" maxlength="100" \
aria-describedby="email-notes" autocomplete="email" required /></p>
<p class="comment-form-url"><label for="url">Website</label> <input id="url" name="url" \
type="url" value="" size="30" maxlength="200" autocomplete="url" /></p>
<p class="comment-form-cookies-consent"><input id="wp-comment-cookies-consent" \
name="wp-comment-cookies-consent" type="checkbox" value="yes" /> <label \
for="wp-comment-cookies-consent">Save my name, email, and website in this browser for the next \
time I comment.</label></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" \
value="Post Comment" /> <input type='hidden' name='comment_post_ID' value='{post.id}' \
id='comment_post_ID' />
<input type='hidden' name='comment_parent' id='comment_parent' value='{parent}' />
</p></form></div><!-- #respond -->
"""


def post_page(blog: Blog, post: DemoPost, show_held: int | None = None) -> str:
    """A post page. `show_held` is the id of a held comment its author may see."""
    comments = [
        c
        for c in blog.store.for_post(post.id, include_held=True)
        if c.status == "approved" or c.id == show_held
    ]
    links = [
        f'<link rel="canonical" href="{escape_text(post.url)}" />',
    ]
    if post.blog == WORDPRESS:
        links += [
            f'<link rel="https://api.w.org/" href="{blog.base}wp-json/" />',
            f'<link rel="alternate" type="application/json" '
            f'href="{blog.base}wp-json/wp/v2/posts/{post.id}" />',
            f"<link rel='shortlink' href='{escape_text(post.guid)}' />",
        ]
    if post.comments_feed_url and blog.shows_comment_meta(post):
        kind = "application/atom+xml" if post.blog == BLOGGER else "application/rss+xml"
        info = BLOGS[post.blog]
        links.append(
            _alternate(
                kind, f"{info.title} &raquo; {post.title} Comments Feed", post.comments_feed_url
            )
        )
    info = BLOGS[post.blog]
    parts = [
        _head(f"{post.title} &#8211; {info.title}", links),
        '</head>\n<body class="single">\n',
        f'<header><p><a href="{escape_text(blog.blog_url(post.blog))}">'
        f"{escape_text(info.title)}</a></p></header>\n<main>\n",
        f'<article id="post-{post.id}" class="post">\n'
        f'<h1 class="entry-title">{escape_text(post.title)}</h1>\n'
        f'<p class="byline">By {escape_text(post.author)}, '
        f'<time datetime="{datetime.fromtimestamp(post.published, UTC).isoformat()}">'
        f"{_date(post.published)}</time></p>\n"
        f'<div class="entry-content">\n{blog.body(post.id)}\n</div>\n</article>\n',
    ]
    if comments:
        count = sum(1 for c in comments if c.status == "approved")
        noun = "thought" if count == 1 else "thoughts"
        parts.append(
            f'<div id="comments" class="comments-area">\n<h2 class="comments-title">{count} '
            f"{noun} on &ldquo;{escape_text(post.title)}&rdquo;</h2>\n"
            '<ol class="commentlist">\n'
            + _comment_tree(
                blog, post, comments, replies=post.blog == WORDPRESS and post.comments_open
            )
            + "</ol>\n</div>\n"
        )
    if post.blog == WORDPRESS and post.comments_open:
        parts.append(comment_form(blog, post))
    if post.blog == COMMENTAPI and post.comment_api_url:
        parts.append(
            '<p class="comment-api">Comments on this note are accepted through the CommentAPI '
            f"at <code>{escape_text(post.comment_api_url)}</code>.</p>\n"
        )
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def wp_die(title: str, message_html: str) -> str:
    """WordPress' error page (wp_die), as comment submission failures show it."""
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
\t<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
\t<meta name="viewport" content="width=device-width">
\t<meta name='robots' content='max-image-preview:large, noindex, follow' />
\t<title>{escape_text(title)}</title>
</head>
<body id="error-page">
\t<div class="wp-die-message"><p>{message_html}</p></div><p><a \
href='javascript:history.back()'>&laquo; Back</a></p></body>
</html>
"""


def not_found(blog: Blog) -> str:
    return (
        _head(f"Page not found &#8211; {BLOGS[WORDPRESS].title}", site_links(blog))
        + '</head>\n<body class="error404">\n<main><h1>Page not found</h1>\n'
        f'<p>Nothing was found at this address. Try the <a href="{blog.base}">home page</a>.</p>'
        "\n</main>\n</body>\n</html>\n"
    )
