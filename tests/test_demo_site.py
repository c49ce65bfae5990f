"""The sample site, driven over real HTTP: status codes, validators, round trips, faults."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import httpx
import pytest

from termnews.demo import DemoSite, DemoStateError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0) as demo:
        yield demo


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def form(post_id: int, **fields: str) -> dict[str, str]:
    data = {
        "comment_post_ID": str(post_id),
        "author": "Ada Reader",
        "email": "ada@example.org",
        "url": "",
        "comment": "A first real comment. <b>bold</b> & ampersand.",
        "comment_parent": "0",
    }
    data.update(fields)
    return data


def parse(client: httpx.Client, url: str) -> feedparser.FeedParserDict:
    answer = client.get(url)
    assert answer.status_code == 200, url
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo, (url, parsed.get("bozo_exception"))
    return parsed


class Links(HTMLParser):
    """<link>, <form> and <input> tags of a page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self.forms: list[dict[str, str]] = []
        self.inputs: list[dict[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "link":
            self.links.append(a)
        elif tag == "form":
            self.forms.append(a)
        elif tag == "input":
            self.inputs.append(a)


def page(client: httpx.Client, url: str) -> tuple[httpx.Response, Links]:
    answer = client.get(url)
    parser = Links()
    parser.feed(answer.text)
    return answer, parser


# --- feeds as an outside parser reads them ------------------------------------------------


def test_wordpress_rss_carries_comment_metadata_except_on_the_closed_post(
    site: DemoSite, client: httpx.Client
) -> None:
    feed = parse(client, site.feed_urls[0])
    assert feed.version == "rss20"
    assert feed.feed.title == "Saltmarsh Quay Gazette"
    assert [link["href"] for link in feed.feed.links if link["rel"] == "self"] == [
        site.url + "feed/"
    ]
    by_id = {entry.id: entry for entry in feed.entries}
    assert len(by_id) == 5
    for post in site.posts:
        if post.blog != "wordpress":
            continue
        entry = by_id[f"{site.url}?p={post.id}"]
        assert entry.title == post.title
        assert entry.link == post.url
        assert entry.author == post.author
        assert entry.content[0].value
        keys = {"comments", "wfw_commentrss", "slash_comments"}
        if post.role == "closed":
            assert not keys & set(entry), entry.keys()
            continue
        count = len(site.comments_for(post.id))
        assert entry.wfw_commentrss == post.comments_feed_url
        assert entry.slash_comments == str(count)
        assert entry.comments == post.url + ("#comments" if count else "#respond")


def test_sample_posts_have_the_promised_shapes(site: DemoSite, client: httpx.Client) -> None:
    entries = {e.link: e for e in parse(client, site.feed_urls[0]).entries}
    long_body = entries[site.post_for("long").url].content[0].value
    assert len(long_body.split()) >= 40_000
    rich = entries[site.post_for("showcase").url].content[0].value
    for tag in ("<h2>", "<h3>", "<ol>", "<table>", "<pre><code>", "<blockquote>", 'alt="'):
        assert tag in rich, tag
    assert rich.count("<ul>") >= 2  # a nested list
    assert 'href="/' in rich and 'href="../' in rich and 'href="https://' in rich
    # The two sites' long posts are byte-identical: snapshots elsewhere depend on it.
    with DemoSite() as other:
        assert other.blog.body(9).replace(other.url, "") == site.blog.body(9).replace(site.url, "")
    threaded = site.comments_for(site.post_for("threaded").id)
    assert len({c["author_name"] for c in threaded}) >= 4
    assert any(c["parent"] for c in threaded)
    assert any(c["parent"] and c["parent"] != threaded[0]["id"] for c in threaded)


def test_wordpress_atom_has_replies_links_and_thr_total(
    site: DemoSite, client: httpx.Client
) -> None:
    feed = parse(client, site.url + "feed/atom/")
    assert feed.version == "atom10"
    for entry in feed.entries:
        post = next(p for p in site.posts if entry.link == p.url)
        replies = [link for link in entry.links if link["rel"] == "replies"]
        if post.role == "closed":
            assert replies == [] and "thr_total" not in entry
            continue
        count = str(len(site.comments_for(post.id)))
        assert {link["type"] for link in replies} == {"text/html", "application/atom+xml"}
        assert all(link["thr:count"] == count == link["count"] for link in replies)
        assert entry.thr_total == count


def test_blogger_feed_is_atom_with_replies_and_per_post_comment_feeds(
    site: DemoSite, client: httpx.Client
) -> None:
    feed = parse(client, site.feed_urls[1])
    assert feed.version == "atom10"
    assert feed.feed.title == "The Allotment Ledger"
    assert len(feed.entries) == 3
    for entry in feed.entries:
        post = next(p for p in site.posts if p.url == entry.link)
        count = str(len(site.comments_for(post.id)))
        replies = {link["type"]: link for link in entry.links if link["rel"] == "replies"}
        assert set(replies) == {"text/html", "application/atom+xml"}
        assert replies["application/atom+xml"]["href"] == post.comments_feed_url
        assert replies["text/html"]["thr:count"] == count
        assert entry.thr_total == count
        comments = parse(client, post.comments_feed_url)
        assert len(comments.entries) == int(count)
        for comment in comments.entries:
            assert comment["thr_in-reply-to"]["ref"].startswith("tag:blogger.com,1999:blog-")
    thread = site.post_for("blogger-comments")
    _, html = page(client, thread.url)
    assert html.forms == []
    # Read-only: no way to post to a Blogger page or feed.
    assert client.post(thread.url, data={"comment": "hi"}).status_code == 405


def test_commentapi_feed_has_one_item_with_an_endpoint(
    site: DemoSite, client: httpx.Client
) -> None:
    feed = parse(client, site.feed_urls[2])
    assert feed.version == "rss20"
    with_api = [e for e in feed.entries if "wfw_comment" in e]
    assert len(feed.entries) == 3 and len(with_api) == 1
    post = site.post_for("commentapi")
    assert with_api[0].wfw_comment == post.comment_api_url
    assert with_api[0].wfw_commentrss == post.comments_feed_url
    comments = parse(client, post.comments_feed_url)
    assert [c.author for c in comments.entries] == ["Mabyn Clowes"]


def test_comment_feeds_have_the_wordpress_shape(site: DemoSite, client: httpx.Client) -> None:
    post = site.post_for("threaded")
    rss = parse(client, post.comments_feed_url)
    assert rss.feed.title == f"Comments on: {post.title}"
    stored = site.comments_for(post.id)
    newest = max(stored, key=lambda c: c["date"])
    first = rss.entries[0]
    assert first.title == f"By: {newest['author_name']}"
    assert first.link == first.id == newest["link"]
    assert first.author == newest["author_name"]
    reply = next(e for e in rss.entries if e.link.endswith("#comment-7"))
    assert reply.content[0].value.startswith(
        f'<p>In reply to <a href="{post.url}#comment-6">Kit Hallow</a>.</p>'
    )
    atom = parse(client, post.comments_atom_url)
    assert len(atom.entries) == len(stored)
    refs = {e.link: e["thr_in-reply-to"]["ref"] for e in atom.entries}
    assert refs[f"{post.url}#comment-6"] == f"{site.url}?p={post.id}"
    assert refs[f"{post.url}#comment-7"] == f"{site.url}?p={post.id}#comment-6"
    site_wide = parse(client, site.comments_feed_url)
    assert site_wide.feed.title == "Comments for Saltmarsh Quay Gazette"
    assert len(site_wide.entries) == 10  # WordPress' default feed length


# --- discovery and pages ------------------------------------------------------------------


def test_home_page_advertises_the_feeds_and_the_api(site: DemoSite, client: httpx.Client) -> None:
    answer, html = page(client, site.url)
    assert answer.status_code == 200
    feeds = [link["href"] for link in html.links if link.get("rel") == "alternate"]
    assert feeds[0] == site.feed_urls[0]
    assert feeds[-1] == site.comments_feed_url
    assert set(site.feed_urls) <= set(feeds)
    assert f'<{site.url}wp-json/>; rel="https://api.w.org/"' in answer.headers["link"]


def test_open_post_page_has_the_form_the_api_link_and_the_comments_feed(
    site: DemoSite, client: httpx.Client
) -> None:
    post = site.post_for("news")
    answer, html = page(client, post.url)
    assert answer.status_code == 200
    rels = {link["rel"]: link["href"] for link in html.links}
    assert rels["https://api.w.org/"] == site.rest_url
    assert post.comments_feed_url in [link["href"] for link in html.links]
    assert html.forms == [
        {
            "action": site.comment_post_url,
            "method": "post",
            "id": "commentform",
            "class": "comment-form",
            "novalidate": "",
        }
    ]
    names = [i["name"] for i in html.inputs]
    assert names == [
        "author",
        "email",
        "url",
        "wp-comment-cookies-consent",
        "submit",
        "comment_post_ID",
        "comment_parent",
    ]
    assert f"<input type='hidden' name='comment_post_ID' value='{post.id}' " in answer.text
    assert "<input type='hidden' name='comment_parent' id='comment_parent' value='0' />" in (
        answer.text
    )
    assert "comment-2" in html.ids and "comment-3" in html.ids
    links = answer.headers.get_list("link")
    assert f"<{site.url}?p={post.id}>; rel=shortlink" in links


def test_closed_post_page_has_no_form_and_no_comments_feed(
    site: DemoSite, client: httpx.Client
) -> None:
    post = site.post_for("closed")
    answer, html = page(client, post.url)
    assert answer.status_code == 200
    assert html.forms == [] and "respond" not in html.ids
    assert all("Comments Feed" not in link.get("title", "") for link in html.links)
    assert any(link["rel"] == "https://api.w.org/" for link in html.links)


def test_urls_wordpress_also_answers(site: DemoSite, client: httpx.Client) -> None:
    post = site.post_for("threaded")
    answer = client.get(f"{site.url}?p={post.id}")
    assert (answer.status_code, answer.headers["location"]) == (301, post.url)
    assert client.get(post.url.rstrip("/")).status_code == 301
    for path in ("feed", "feed/rss2/", "?feed=rss2"):
        assert parse(client, site.url + path).feed.title == "Saltmarsh Quay Gazette"
    assert parse(client, f"{site.url}?feed=rss2&p={post.id}").feed.title.startswith("Comments on")
    assert parse(client, f"{site.url}?feed=comments-rss2").feed.title.startswith("Comments for")
    assert client.get(site.url + "2026/11/no-such-post/").status_code == 404
    assert client.get(f"{site.url}?p=999").status_code == 404
    image = client.get(site.url + "wp-content/uploads/2026/11/tide-board.png")
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"


# --- validators -----------------------------------------------------------------------------


def every_feed(site: DemoSite) -> list[str]:
    urls = [*site.feed_urls, site.comments_feed_url, site.url + "feed/atom/"]
    for post in site.posts:
        urls += [u for u in (post.comments_feed_url, post.comments_atom_url) if u]
    return urls


def test_every_feed_has_validators_and_answers_304(site: DemoSite, client: httpx.Client) -> None:
    for url in every_feed(site):
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        for headers in (
            {"If-None-Match": etag},
            {"If-Modified-Since": modified},
            {"If-None-Match": etag, "If-Modified-Since": modified},
        ):
            again = client.get(url, headers=headers)
            assert again.status_code == 304, (url, headers)
            assert again.content == b""
        stale = client.get(url, headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200 and stale.content == first.content


def test_a_comment_changes_comment_feed_validators_but_not_the_posts_feed(
    site: DemoSite, client: httpx.Client
) -> None:
    news, other = site.post_for("news"), site.post_for("showcase")
    before = {url: client.get(url).headers["etag"] for url in every_feed(site)}
    posts_feed = client.get(site.feed_urls[0])
    assert client.post(site.comment_post_url, data=form(news.id)).status_code == 302
    # The posts feed still says "not modified", although slash:comments went up.
    validators = {
        "If-None-Match": posts_feed.headers["etag"],
        "If-Modified-Since": posts_feed.headers["last-modified"],
    }
    assert client.get(site.feed_urls[0], headers=validators).status_code == 304
    fresh = parse(client, site.feed_urls[0])
    entry = next(e for e in fresh.entries if e.link == news.url)
    assert entry.slash_comments == "3"
    # Every WordPress comment feed changes, even one for another post.
    for url in (news.comments_feed_url, other.comments_feed_url, site.comments_feed_url):
        assert url is not None
        answer = client.get(url, headers={"If-None-Match": before[url]})
        assert answer.status_code == 200, url
        assert answer.headers["etag"] != before[url]


# --- wp-comments-post.php -------------------------------------------------------------------


def test_posted_comment_round_trips_to_feeds_rest_and_page(
    site: DemoSite, client: httpx.Client
) -> None:
    post = site.post_for("showcase")
    answer = client.post(site.comment_post_url, data=form(post.id))
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(post.url + "#comment-")
    number = int(location.rsplit("-", 1)[1])
    assert len(answer.headers.get_list("set-cookie")) == 3
    expected = "<p>A first real comment. &lt;b&gt;bold&lt;/b&gt; &amp; ampersand.</p>\n"
    assert site.comments_for(post.id)[-1]["content"] == expected
    rss = parse(client, post.comments_feed_url)
    assert rss.entries[0].link == location and rss.entries[0].author == "Ada Reader"
    assert rss.entries[0].content[0].value == expected.strip()  # feedparser strips
    atom = parse(client, post.comments_atom_url)
    assert atom.entries[0].link == location
    rest = client.get(f"{site.rest_url}wp/v2/comments", params={"post": post.id}).json()
    assert rest[0]["id"] == number and rest[0]["content"]["rendered"] == expected
    _, html = page(client, post.url)
    assert f"comment-{number}" in html.ids
    assert parse(client, site.comments_feed_url).entries[0].link == location
    # A threaded reply.
    reply = client.post(
        site.comment_post_url, data=form(post.id, comment="A reply.", comment_parent=str(number))
    )
    assert reply.status_code == 302
    assert site.comments_for(post.id)[-1]["parent"] == number


def test_moderation_holds_a_new_authors_comment(client: httpx.Client) -> None:
    with DemoSite(flood_seconds=0, moderate_new_authors=True) as site:
        post = site.post_for("threaded")
        answer = client.post(site.comment_post_url, data=form(post.id, author="New Person"))
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert location.startswith(post.url + "?unapproved=")
        assert "&moderation-hash=" in location
        number = int(location.rsplit("#comment-", 1)[1])
        assert f"?unapproved={number}&" in location
        held_page = client.get(location.split("#")[0])
        assert "awaiting moderation" in held_page.text
        assert "awaiting moderation" not in client.get(post.url).text
        rest = client.get(f"{site.rest_url}wp/v2/comments", params={"post": post.id})
        assert number not in [c["id"] for c in rest.json()]
        assert rest.headers["x-wp-total"] == "7"
        assert client.get(f"{site.rest_url}wp/v2/comments/{number}").status_code == 401
        stored = site.comments_for(post.id)
        assert stored[-1]["status"] == "hold"
        assert number not in [c["id"] for c in site.comments_for(post.id, include_held=False)]
        feed = parse(client, post.comments_feed_url)
        assert not any(e.link.endswith(f"#comment-{number}") for e in feed.entries)
        # An author with an approved comment is not held.
        known = form(post.id, author="Kit Hallow", email="kit.hallow@example.com")
        assert (
            "unapproved" not in client.post(site.comment_post_url, data=known).headers["location"]
        )
        assert site.approve_comment(number)
        rest = client.get(f"{site.rest_url}wp/v2/comments", params={"post": post.id})
        assert number in [c["id"] for c in rest.json()]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"author": ""}, "Please fill the required fields."),
        ({"email": ""}, "Please fill the required fields."),
        ({"email": "not-an-address"}, "Please enter a valid email address."),
        ({"comment": "   "}, "Please type your comment text."),
    ],
)
def test_form_rejections_are_200_error_pages(
    site: DemoSite, client: httpx.Client, fields: dict[str, str], message: str
) -> None:
    post = site.post_for("news")
    answer = client.post(site.comment_post_url, data=form(post.id, **fields))
    assert answer.status_code == 200
    assert "<title>Comment Submission Failure</title>" in answer.text
    assert message in answer.text
    assert len(site.comments_for(post.id)) == 2


def test_form_status_codes(site: DemoSite, client: httpx.Client) -> None:
    news = site.post_for("news")
    assert client.post(site.comment_post_url, data=form(news.id)).status_code == 302
    duplicate = client.post(site.comment_post_url, data=form(news.id))
    assert duplicate.status_code == 409
    assert "Duplicate comment detected" in duplicate.text
    closed = client.post(site.comment_post_url, data=form(site.post_for("closed").id))
    assert closed.status_code == 403
    assert "Sorry, comments are closed for this item." in closed.text
    unknown = client.post(site.comment_post_url, data=form(999))
    assert (unknown.status_code, unknown.content) == (200, b"")
    get = client.get(site.comment_post_url)
    assert (get.status_code, get.headers["allow"], get.content) == (405, "POST", b"")
    orphan = client.post(site.comment_post_url, data=form(news.id, comment_parent="6"))
    assert orphan.status_code == 403  # comment 6 is under another post
    assert site.errors == []


def test_flood_is_429_within_the_window(client: httpx.Client) -> None:
    with DemoSite(flood_seconds=60) as site:
        post = site.post_for("threaded")
        assert client.post(site.comment_post_url, data=form(post.id)).status_code == 302
        second = form(post.id, author="Other", email="other@example.org", comment="Different")
        flood = client.post(site.comment_post_url, data=second)
        assert flood.status_code == 429
        assert "You are posting comments too quickly. Slow down." in flood.text


# --- REST -------------------------------------------------------------------------------------


def test_rest_list_shows_approved_comments_with_totals(
    site: DemoSite, client: httpx.Client
) -> None:
    post = site.post_for("threaded")
    pretty = client.get(f"{site.rest_url}wp/v2/comments", params={"post": post.id})
    plain = client.get(site.url, params={"rest_route": "/wp/v2/comments", "post": post.id})
    for answer in (pretty, plain):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json; charset=UTF-8"
        assert answer.headers["x-wp-total"] == "7"
        assert answer.headers["allow"] == "GET"
        items = answer.json()
        assert len(items) == 7
        for key in ("id", "post", "parent", "author_name", "date_gmt", "status", "link"):
            assert key in items[0]
        assert items[0]["content"]["rendered"].startswith("<p>")
        assert {c["status"] for c in items} == {"approved"}
    assert pretty.json() == plain.json()
    paged = client.get(f"{site.rest_url}wp/v2/comments", params={"post": post.id, "per_page": 3})
    assert len(paged.json()) == 3 and paged.headers["x-wp-totalpages"] == "3"
    replies = {c["id"]: c["parent"] for c in pretty.json()}
    assert replies[7] == 6 and replies[8] == 7


def test_rest_post_statuses(client: httpx.Client) -> None:
    with DemoSite(flood_seconds=0) as site:
        body = {
            "post": site.post_for("news").id,
            "author_name": "Rest Reader",
            "author_email": "rest@example.org",
            "content": "Through the API.",
        }
        url = f"{site.rest_url}wp/v2/comments"
        for target in (url, f"{site.url}?rest_route=/wp/v2/comments"):
            refused = client.post(target, json=body)
            assert refused.status_code == 401
            assert refused.json()["code"] == "rest_comment_login_required"
    with DemoSite(flood_seconds=0, allow_anonymous_rest=True) as site:
        url = f"{site.rest_url}wp/v2/comments"
        body["post"] = site.post_for("news").id
        created = client.post(url, json=body)
        assert created.status_code == 201
        assert created.json()["status"] == "approved"
        location = created.headers["location"]
        assert location == f"{url}/{created.json()['id']}"
        assert client.get(location).json()["author_name"] == "Rest Reader"
        feed = parse(client, site.post_for("news").comments_feed_url)
        assert feed.entries[0].author == "Rest Reader"
        assert client.post(url, json=body).status_code == 409
        nameless = client.post(url, json={**body, "author_name": "", "content": "Other"})
        assert nameless.status_code == 400
        assert nameless.json()["code"] == "rest_comment_author_data_required"
        closed = client.post(url, json={**body, "post": site.post_for("closed").id})
        assert (closed.status_code, closed.json()["code"]) == (403, "rest_comment_closed")
        form_encoded = client.post(url, data={**body, "content": "Form-encoded body."})
        assert form_encoded.status_code == 201


def test_rest_post_with_an_application_password(client: httpx.Client) -> None:
    with DemoSite(flood_seconds=60, app_passwords={"ada": "abcd efgh ijkl"}) as site:
        url = f"{site.rest_url}wp/v2/comments"
        body = {"post": site.post_for("threaded").id, "content": "Signed in.", "parent": 10}
        created = client.post(url, json=body, auth=("ada", "abcdefghijkl"))
        assert created.status_code == 201
        assert created.json()["author_name"] == "ada"
        assert created.json()["parent"] == 10
        assert created.headers["location"].endswith(f"/comments/{created.json()['id']}")
        again = client.post(url, json={**body, "content": "Again."}, auth=("ada", "abcdefghijkl"))
        assert again.status_code == 201  # moderators are not throttled
        wrong = client.post(url, json=body, auth=("ada", "nope"))
        assert (wrong.status_code, wrong.json()["code"]) == (401, "incorrect_password")
        listing = client.get(url, params={"post": body["post"]}, auth=("ada", "abcdefghijkl"))
        assert listing.headers["allow"] == "GET, POST"


# --- CommentAPI -----------------------------------------------------------------------------

ITEM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<item><title>Re: harbours</title>'
    b"<author>mor@example.org (Morvoren)</author><link>https://example.org/m</link>"
    b"<description>Porthgwidden, for the swimming.</description></item>"
)


def test_commentapi_post_round_trips(site: DemoSite, client: httpx.Client) -> None:
    post = site.post_for("commentapi")
    assert post.comment_api_url is not None and post.comments_feed_url is not None
    headers = {"Content-Type": "text/xml"}
    created = client.post(post.comment_api_url, content=ITEM, headers=headers)
    assert created.status_code == 201
    assert created.headers["location"].startswith(post.url + "#comment-")
    feed = parse(client, post.comments_feed_url)
    assert feed.entries[0].author == "Morvoren"
    assert feed.entries[0].content[0].value == "<p>Porthgwidden, for the swimming.</p>"
    other = ITEM.replace(b"Porthgwidden", b"Mousehole")
    seen = client.post(
        post.comment_api_url, content=other, headers={**headers, "Accept": "text/html"}
    )
    assert seen.status_code == 303 and "#comment-" in seen.headers["location"]
    assert client.post(post.comment_api_url, content=ITEM, headers=headers).status_code == 409
    assert client.get(post.comment_api_url).status_code == 405
    assert [c["author_name"] for c in site.comments_for(post.id)][-2:] == ["Morvoren"] * 2


@pytest.mark.parametrize(
    "body",
    [
        b"<item><title>unclosed",
        b"<entry><description>wrong root</description></entry>",
        b"<item><title>no text</title><description>  </description></item>",
        b'<!DOCTYPE item [<!ENTITY x "y">]><item><description>&x;</description></item>',
    ],
)
def test_commentapi_rejects_malformed_items(
    site: DemoSite, client: httpx.Client, body: bytes
) -> None:
    post = site.post_for("commentapi")
    assert post.comment_api_url is not None
    answer = client.post(post.comment_api_url, content=body, headers={"Content-Type": "text/xml"})
    assert answer.status_code == 400
    assert answer.text.startswith("Malformed comment:")
    assert len(site.comments_for(post.id)) == 1


# --- faults -----------------------------------------------------------------------------------


def test_fail_next_answers_the_chosen_status_then_recovers(
    site: DemoSite, client: httpx.Client
) -> None:
    site.set_faults(fail_next=2)
    assert client.get(site.url).status_code == 200  # pages are spared
    assert client.get(site.feed_urls[0]).status_code == 500
    assert client.post(site.comment_post_url, data=form(4)).status_code == 500
    assert client.get(site.feed_urls[0]).status_code == 200
    assert site.comments_for(4)[-1]["author_name"] != "Ada Reader"
    site.set_faults(fail_next=1, fail_status=503)
    answer = client.get(site.feed_urls[1])
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "1")


def test_drop_next_closes_the_connection_without_an_answer(
    site: DemoSite, client: httpx.Client
) -> None:
    site.set_faults(drop_next=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(site.feed_urls[0])
    assert client.get(site.feed_urls[0]).status_code == 200


def test_latency_delays_feeds(site: DemoSite) -> None:
    site.set_faults(latency=2.0)
    with httpx.Client(timeout=0.2) as hasty, pytest.raises(httpx.ReadTimeout):
        hasty.get(site.feed_urls[0])
    site.set_faults()
    with httpx.Client(timeout=10) as patient:
        assert patient.get(site.feed_urls[0]).status_code == 200


def test_bad_fault_settings_are_refused(site: DemoSite) -> None:
    with pytest.raises(ValueError):
        site.set_faults(fail_status=42)
    with pytest.raises(ValueError):
        site.set_faults(latency=-1)


# --- state file, command line -----------------------------------------------------------------


def test_state_file_keeps_posted_comments(tmp_path: Path, client: httpx.Client) -> None:
    state = tmp_path / "demo-state.json"
    with DemoSite(flood_seconds=0, state_file=state) as site:
        answer = client.post(site.comment_post_url, data=form(4, comment="Kept across runs."))
        number = int(answer.headers["location"].rsplit("-", 1)[1])
    assert json.loads(state.read_text())["comments"][0]["id"] == number
    with DemoSite(flood_seconds=0, state_file=state) as site:
        assert site.comments_for(4)[-1]["text"] == "Kept across runs."
        again = client.post(site.comment_post_url, data=form(4, comment="And another."))
        assert int(again.headers["location"].rsplit("-", 1)[1]) == number + 1
    state.write_text("{not json")
    with pytest.raises(DemoStateError, match="cannot read the demo state file"):
        DemoSite(state_file=state).start()


def test_serve_forever_prints_urls_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    code = "from termnews.demo import serve_forever; serve_forever('127.0.0.1', 0, fail_next=1)"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(7)]
        assert lines[0].startswith("termnews sample site: http://127.0.0.1:")
        url = lines[0].split(": ", 1)[1].strip()
        assert lines[2].strip() == url + "feed/"
        with httpx.Client(timeout=10) as http:
            assert http.get(url + "feed/").status_code == 500  # --fail-next reached it
            assert http.get(url + "feed/").status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "sample site stopped" in out


def test_serve_forever_reports_a_bad_state_file_without_a_traceback(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"version": 99}')
    code = (
        "import pathlib, sys; from termnews.demo import serve_forever; "
        "serve_forever(state_file=pathlib.Path(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(state)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "not a termnews demo state file" in done.stderr


def test_basic_auth_header_shape_is_what_clients_send(site: DemoSite) -> None:
    # A malformed Authorization header is a clear 401, not a crash.
    with httpx.Client(timeout=10) as http:
        answer = http.get(f"{site.rest_url}wp/v2/comments", headers={"Authorization": "Basic !!!"})
        assert answer.status_code == 401
        token = base64.b64encode(b"nobody:x").decode()
        unknown = http.get(
            f"{site.rest_url}wp/v2/comments", headers={"Authorization": f"Basic {token}"}
        )
        assert unknown.json()["code"] == "invalid_username"
    assert site.errors == []
