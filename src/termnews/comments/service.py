"""CommentService: read a post's discussion from every source, write drafts, post, retry.

Sources are cached per article in the store (`comments` table, one `source` each:
"feed", "wordpress", and "sent" for your own comments until the site lists them);
the board lives in its own table. Posting never sends a comment twice: see
`wordpress.post_form` for the rule that makes an outbox retry safe.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import json
import re
import time
from pathlib import Path
from typing import Any

from termnews.comments import board
from termnews.comments.base import (
    DEFAULT_TIMEOUT,
    SENT_SOURCE,
    CommentError,
    CommentInfo,
    CommentTarget,
    OutboxItem,
    Poster,
    PostOutcome,
    PostResult,
    host_of,
    hostname_of,
    make_client,
)
from termnews.comments.commentapi import post_item
from termnews.comments.feeds import read_comment_feed
from termnews.comments.wordpress import (
    WordPressPost,
    discover,
    post_form,
    post_rest,
    read_rest,
)
from termnews.config import Settings, WordPressLogin
from termnews.model import ArticleDetail, Comment, Draft, Identity, OutboxRow, backoff
from termnews.sanitize import clean_line, strip_tags
from termnews.store import Store

OUTBOX_LEASE = 120.0  # seconds one process holds an outbox item while sending it
FIRST_RETRY = 60.0
MAX_RETRY = 6 * 3600.0
_SPACE = re.compile(r"\s+")

KIND_FORM = "wordpress-form"
KIND_REST = "wordpress-rest"
KIND_COMMENTAPI = "commentapi"
KIND_BOARD = "board"


def retry_delay(attempts: int) -> float:
    """Exponential backoff for the outbox: 1 min, 2, 4 … at most 6 hours."""
    return backoff(FIRST_RETRY, attempts, MAX_RETRY)


def _text_key(comment: Comment) -> tuple[str, str]:
    text = html.unescape(strip_tags(comment.content_html[:4000]))
    return comment.author.casefold().strip(), _SPACE.sub(" ", text).strip().casefold()[:300]


def _break_cycles(comments: list[Comment]) -> None:
    """A reply chain that loops (a hostile feed) becomes top-level where it closes."""
    by_id = {c.remote_id: c for c in comments}
    state: dict[str, int] = {}  # 1: on the path being walked, 2: known to reach a root
    for comment in comments:
        path: list[Comment] = []
        node: Comment | None = comment
        while node is not None and node.remote_id not in state:
            state[node.remote_id] = 1
            path.append(node)
            parent = by_id.get(node.parent_id) if node.parent_id else None
            if parent is not None and state.get(parent.remote_id) == 1:
                node.parent_id = None
                parent = None
            node = parent
        for walked in path:
            state[walked.remote_id] = 2


def merge(remote: list[Comment], board_comments: list[Comment]) -> list[Comment]:
    """One discussion from the cached sources: no comment shown twice, oldest first."""
    rest = [c for c in remote if c.source == "wordpress"]
    rest_ids = {c.remote_id for c in rest}
    listed = rest + [c for c in remote if c.source == "feed" and c.remote_id not in rest_ids]
    listed_ids = {c.remote_id for c in listed}
    mine = [c for c in remote if c.source == SENT_SOURCE and c.remote_id not in listed_ids]
    if mine:  # your comment without a known id: matched by author and text
        listed_texts = {_text_key(c) for c in listed}
        mine = [c for c in mine if _text_key(c) not in listed_texts]
    others = [c for c in remote if c.source not in ("wordpress", "feed", SENT_SOURCE)]
    combined = listed + mine + others + [board.as_display(c) for c in board_comments]
    known = {c.remote_id for c in combined}
    for comment in combined:
        comment.author = clean_line(comment.author, 100) or "anonymous"
        if comment.parent_id is not None and comment.parent_id not in known:
            comment.parent_id = None  # answers something not shown (or the post itself)
    combined.sort(key=lambda c: c.published or 0.0)
    _break_cycles(combined)
    return combined


def _is_blogger(article: ArticleDetail) -> bool:
    hosts = (hostname_of(article.link), hostname_of(article.feed_url))
    return (
        any(h.endswith(("blogspot.com", "blogger.com")) for h in hosts)
        or "blogger.com" in article.guid
    )


class CommentService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        identity: Identity,
        *,
        restricted: bool = False,
        data_dir: Path | None = None,
        rate_per_minute: int = 5,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.store = store
        self.settings = settings
        self.identity = identity
        self.restricted = restricted
        self.data_dir = data_dir
        self.rate_per_minute = rate_per_minute
        self.timeout = timeout
        self._wordpress: dict[int, WordPressPost | None] = {}

    # -- reading ------------------------------------------------------------------

    def cached(self, article_id: int) -> list[Comment]:
        """What is known without the network: cached site comments plus the board."""
        return merge(self.store.cached_comments(article_id), self.store.board_comments(article_id))

    async def load(self, article: ArticleDetail) -> list[Comment]:
        """Fetch from every source the post has, cache, and return the merged discussion.

        Raises CommentError only when the post has sources and none could be read; the
        cache is kept either way.
        """
        errors: list[str] = []
        read = 0
        async with make_client(self.timeout) as client:
            jobs: list[Any] = []
            if article.comments.feed_url:
                jobs.append(self._load_feed(client, article))
            jobs.append(self._load_wordpress(client, article))
            for outcome in await asyncio.gather(*jobs, return_exceptions=True):
                if isinstance(outcome, CommentError):
                    errors.append(str(outcome))
                elif isinstance(outcome, BaseException):
                    if not isinstance(outcome, Exception):
                        raise outcome
                    errors.append(f"internal error: {type(outcome).__name__}")
                elif outcome:
                    read += 1
        if read:
            self._prune_sent(article.id)
        elif errors:
            raise CommentError("; ".join(errors))
        return self.cached(article.id)

    async def _load_feed(self, client: Any, article: ArticleDetail) -> bool:
        assert article.comments.feed_url
        comments = await read_comment_feed(client, article.comments.feed_url)
        self.store.replace_comments(article.id, "feed", comments)
        return True

    async def _load_wordpress(self, client: Any, article: ArticleDetail) -> bool:
        post = await self._discover(client, article)
        if post is None or not post.api_root or post.post_id is None:
            return False
        comments = await read_rest(client, post)
        self.store.replace_comments(article.id, "wordpress", comments)
        return True

    def _prune_sent(self, article_id: int) -> None:
        """Forget local copies of your comments once the site lists them."""
        cached = self.store.cached_comments(article_id)
        sent = [c for c in cached if c.source == SENT_SOURCE]
        if not sent:
            return
        shown = {c.remote_id for c in merge(cached, []) if c.source == SENT_SOURCE}
        keep = [c for c in sent if c.remote_id in shown]
        if len(keep) != len(sent):
            self.store.replace_comments(article_id, SENT_SOURCE, keep)

    async def _discover(self, client: Any, article: ArticleDetail) -> WordPressPost | None:
        if article.id in self._wordpress:
            return self._wordpress[article.id]
        post = await discover(client, article)
        if post is not None and not post.page_checked and post.post_id is not None:
            # The page could not be read (offline?): WordPress' usual form address.
            post.form_action = "/".join(post.page_url.split("/", 3)[:3]) + "/wp-comments-post.php"
        if post is None or post.page_checked:
            # Only a read page is a reliable answer; a network error is asked again.
            self._wordpress[article.id] = post
        return post

    # -- what can be done ------------------------------------------------------------

    def _login(self, url: str | None) -> WordPressLogin | None:
        return self.settings.wordpress.get(host_of(url)) or self.settings.wordpress.get(
            hostname_of(url)
        )

    def signature(self) -> tuple[str, str, str]:
        """Name, e-mail and website for comments to sites (the server's word when served)."""
        ident = self.identity
        if self.restricted:
            return ident.display_name or ident.name, ident.email, ident.url
        name = self.settings.name or ident.display_name
        if not name and ident.name != "local":
            name = ident.name
        return name, self.settings.email or ident.email, self.settings.url or ident.url

    def _as_whom(self) -> str:
        name, email, _ = self.signature()
        if name and email:
            return f"{name} <{email}>"
        return name or email or "(no name set)"

    def board_target(self) -> CommentTarget:
        return CommentTarget(
            KIND_BOARD,
            f"to this host's board as @{clean_line(self.identity.name, 60)}",
            "",
            needs_email=False,
            note=None,
        )

    async def info(self, article: ArticleDetail) -> CommentInfo:
        """Where a comment on this post can go (best first) and whether comments can be read."""
        async with make_client(self.timeout) as client:
            post = await self._discover(client, article)
        host = hostname_of(article.link or article.comments.page_url or article.feed_url)
        name, email, _ = self.signature()
        targets: list[CommentTarget] = []
        note = None
        if not (name and email):
            note = f"{host} asks for a name and an e-mail address; set them under [profile]"
        if post is not None and not post.page_checked:
            note = f"could not check the post page ({post.page_error}); " + (note or "")
            note = note.rstrip("; ")
        if post is not None and post.open:
            login = self._login(post.page_url)
            if login is not None and post.api_root:
                targets.append(
                    CommentTarget(
                        KIND_REST,
                        f"to {host} as {clean_line(login.user, 60)} (application password)",
                        host,
                        needs_email=False,
                        note=None,
                    )
                )
            targets.append(
                CommentTarget(KIND_FORM, f"to {host} as {self._as_whom()}", host, True, note)
            )
        if article.comments.api_url:
            api_host = hostname_of(article.comments.api_url) or host
            targets.append(
                CommentTarget(
                    KIND_COMMENTAPI, f"to {api_host} as {self._as_whom()}", api_host, False, None
                )
            )
        reason = None
        if not targets:
            if _is_blogger(article):
                reason = (
                    "Blogger posts take no comments from termnews; "
                    "use the board or open the comment page"
                )
            elif post is not None and post.page_checked and not post.open:
                reason = "comments are closed on this post; the board is still open"
            else:
                reason = (
                    "this post's site takes no comments from termnews; "
                    "use the board or open the comment page"
                )
        targets.append(self.board_target())
        can_read = bool(article.comments.feed_url) or bool(
            post is not None and post.api_root and post.post_id is not None
        )
        return CommentInfo(
            can_read=can_read,
            targets=targets,
            page_url=article.comments.page_url or article.link,
            reason=reason,
        )

    # -- drafts ------------------------------------------------------------------------

    def drafts(self) -> list[Draft]:
        """This identity's unsent drafts, newest first."""
        return self.store.drafts(self.identity.name)

    def draft(self, article_id: int) -> Draft | None:
        return self.store.draft(article_id, self.identity.name)

    def save_draft(self, draft: Draft) -> None:
        draft.identity = self.identity.name
        draft.updated = time.time()
        self.store.save_draft(draft)

    def discard_draft(self, article_id: int) -> None:
        self.store.delete_draft(article_id, self.identity.name)

    # -- posting -----------------------------------------------------------------------

    def _poster(self, draft: Draft) -> Poster:
        name, email, url = self.signature()
        return Poster(
            # On a shared host a member signs with their member name, whatever a draft says.
            author=name if self.restricted else (draft.author or name),
            email=draft.email or email,
            url=draft.url or url,
            body=draft.body,
            parent_id=draft.parent_id,
        )

    async def post(self, article: ArticleDetail, draft: Draft, target: CommentTarget) -> PostResult:
        """Send a comment. POSTED/HELD: the draft goes; FAILED and retryable: the outbox
        keeps it; REJECTED: the draft stays for editing."""
        draft.article_id = article.id
        draft.target = target.kind
        poster = self._poster(draft)
        payload: dict[str, Any] = {}
        if not draft.body.strip():
            result = PostResult(PostOutcome.REJECTED, "The comment is empty.", None, False)
        elif target.kind == KIND_BOARD:
            result = board.post(
                self.store,
                article.id,
                self.identity.name,
                draft.body,
                draft.parent_id,
                restricted=self.restricted,
                rate_per_minute=self.rate_per_minute,
            )
        elif self.restricted and self._site_posts_last_minute() >= self.rate_per_minute:
            result = PostResult(
                PostOutcome.REJECTED,
                f"This host sends at most {self.rate_per_minute} comments a minute for each "
                "person; wait a little and send again.",
                None,
                True,
            )
        else:
            async with make_client(self.timeout) as client:
                payload = await self._payload(client, article, target, poster)
                result = await self._send(client, payload, retrying=False)
        if result.outcome in (PostOutcome.POSTED, PostOutcome.HELD):
            if target.kind != KIND_BOARD:
                self._count_site_post()
            self.discard_draft(article.id)
            if result.comment is not None and target.kind != KIND_BOARD:
                self.store.add_comment(article.id, result.comment)
            self._log_activity(target, article.link)
        elif result.outcome is PostOutcome.FAILED and result.retryable:
            item_id = self.store.outbox_add(article.id, self.identity.name, target.kind, payload)
            self.store.outbox_update(
                item_id,
                state="pending",
                error=result.message,
                next_attempt=time.time() + retry_delay(1),
            )
            self.discard_draft(article.id)
            result.message += "; it is in the outbox and will be sent again"
        else:
            self.save_draft(draft)
        return result

    def _site_posts_last_minute(self) -> int:
        """Comments this identity sent to sites in the last minute (the board counts its own)."""
        now = time.time()
        stamps = json.loads(self.store.get_value(self._rate_key, "[]") or "[]")
        return sum(1 for stamp in stamps if stamp > now - 60.0)

    def _count_site_post(self) -> None:
        now = time.time()
        stamps = json.loads(self.store.get_value(self._rate_key, "[]") or "[]")
        recent = [stamp for stamp in stamps if stamp > now - 60.0] + [now]
        self.store.set_value(self._rate_key, json.dumps(recent))

    @property
    def _rate_key(self) -> str:
        return f"site-comments:{self.identity.name}"

    async def _payload(
        self, client: Any, article: ArticleDetail, target: CommentTarget, poster: Poster
    ) -> dict[str, Any]:
        """Everything needed to send (and later re-send) the comment without the article."""
        payload: dict[str, Any] = {
            "kind": target.kind,
            "label": target.label,
            "host": target.host,
            "body": poster.body,
            "author": poster.author,
            "email": poster.email,
            "url": poster.url,
            "parent_id": poster.parent_id,
            "article_link": article.link,
            "article_title": article.title,
            "api_url": article.comments.api_url,
            "wordpress": None,
        }
        if target.kind in (KIND_FORM, KIND_REST):
            post = await self._discover(client, article)
            if post is not None:
                payload["wordpress"] = post.to_payload()
        return payload

    async def _send(self, client: Any, payload: dict[str, Any], *, retrying: bool) -> PostResult:
        kind = payload.get("kind")
        poster = Poster(
            author=payload.get("author") or "",
            email=payload.get("email") or "",
            url=payload.get("url") or "",
            body=payload.get("body") or "",
            parent_id=payload.get("parent_id"),
        )
        host = clean_line(payload.get("host") or "", 100) or "the site"
        if kind in (KIND_FORM, KIND_REST):
            data = payload.get("wordpress")
            if not data:
                return PostResult(
                    PostOutcome.REJECTED,
                    f"{host} shows no WordPress comment form for this post",
                    None,
                    False,
                )
            post = WordPressPost.from_payload(data)
            if kind == KIND_FORM:
                return await post_form(client, post, poster, retrying=retrying)
            login = self._login(post.page_url)
            return await post_rest(client, post, poster, login, retrying=retrying)
        if kind == KIND_COMMENTAPI:
            endpoint = payload.get("api_url")
            if not endpoint:
                return PostResult(
                    PostOutcome.REJECTED, "this post has no CommentAPI address", None, False
                )
            title = "Re: " + clean_line(payload.get("article_title") or "", 200)
            return await post_item(client, endpoint, poster, title=title, retrying=retrying)
        return PostResult(
            PostOutcome.REJECTED, f"unknown comment target {clean_line(str(kind))}", None, False
        )

    def _log_activity(self, target: CommentTarget, link: str | None) -> None:
        """Served hosts keep one line per posted comment: time, who, where, which post."""
        if not self.restricted or self.data_dir is None:
            return
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        fields = [
            stamp,
            clean_line(self.identity.name, 80),
            clean_line(f"{target.kind} {target.host}".strip(), 200),
            clean_line(link or "-", 500),
        ]
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.data_dir / "activity.log", "a", encoding="utf-8") as log:
                log.write("\t".join(f.replace("\t", " ") for f in fields) + "\n")
        except OSError:
            pass  # the comment is posted; a full disk must not turn that into an error

    # -- outbox ------------------------------------------------------------------------

    def _item(self, row: OutboxRow) -> OutboxItem:
        payload = row.payload
        return OutboxItem(
            id=row.id,
            article_id=row.article_id,
            kind=row.target,
            label=str(payload.get("label") or row.target),
            body=str(payload.get("body") or ""),
            state=row.state,
            attempts=row.attempts,
            next_attempt=row.next_attempt,
            last_error=row.last_error,
            created=row.created,
        )

    def outbox(self) -> list[OutboxItem]:
        return [self._item(r) for r in self.store.outbox(self.identity.name)]

    def _row(self, item_id: int) -> OutboxRow:
        for row in self.store.outbox(self.identity.name):
            if row.id == item_id:
                return row
        raise CommentError("that comment is no longer in the outbox")

    async def retry_outbox(self, *, force: bool = False) -> list[PostResult]:
        """Send the due outbox items again (all pending ones with `force`)."""
        now = time.time()
        results: list[PostResult] = []
        rows = self.store.outbox(self.identity.name, states=["pending"])
        due = [r for r in rows if force or r.next_attempt <= now]
        if not due:
            return results
        async with make_client(self.timeout) as client:
            for row in due:
                if not self.store.outbox_claim(row.id, OUTBOX_LEASE):
                    continue  # another termnews process is sending it
                try:
                    result = await self._send(client, row.payload, retrying=True)
                except Exception as exc:  # keep the item; never lose a comment to a bug
                    self.store.outbox_update(
                        row.id,
                        state="pending",
                        error=f"internal error: {type(exc).__name__}",
                        next_attempt=time.time() + retry_delay(row.attempts + 1),
                    )
                    raise
                self._settle(row, result)
                results.append(result)
        return results

    def _settle(self, row: OutboxRow, result: PostResult) -> None:
        payload = row.payload
        if result.outcome in (PostOutcome.POSTED, PostOutcome.HELD):
            self.store.outbox_delete(row.id)
            if result.comment is not None:
                self.store.add_comment(row.article_id, result.comment)
            target = CommentTarget(
                row.target, str(payload.get("label") or ""), payload.get("host") or "", False
            )
            self._log_activity(target, payload.get("article_link"))
        elif result.outcome is PostOutcome.FAILED and result.retryable:
            self.store.outbox_update(
                row.id,
                state="pending",
                error=result.message,
                next_attempt=time.time() + retry_delay(row.attempts + 1),
            )
        else:
            state = "rejected" if result.outcome is PostOutcome.REJECTED else "failed"
            self.store.outbox_update(row.id, state=state, error=result.message)

    def discard_outbox(self, item_id: int) -> None:
        self._row(item_id)
        self.store.outbox_delete(item_id)

    def edit_outbox(self, item_id: int) -> Draft:
        """Take a comment out of the outbox and make it the post's draft again."""
        row = self._row(item_id)
        if row.state == "pending" and not self.store.outbox_claim(item_id, OUTBOX_LEASE):
            raise CommentError("that comment is being sent right now; try again in a moment")
        payload = row.payload
        draft = Draft(
            article_id=row.article_id,
            identity=self.identity.name,
            body=str(payload.get("body") or ""),
            author=str(payload.get("author") or ""),
            email=str(payload.get("email") or ""),
            url=str(payload.get("url") or ""),
            parent_id=payload.get("parent_id"),
            target=row.target,
        )
        self.save_draft(draft)
        self.store.outbox_delete(item_id)
        return draft
