"""CommentService: read a post's discussion from every backend, write drafts, post, retry.

Backends (see `backend.CommentBackend`) are listed once in `BACKENDS`, best target
first; the service loops over them for `info`, `load`, `post` and the outbox. Site
comments are cached per article in the store (one `source` each); the board lives in
its own table.

Never twice: an attempt that may have reached the site (a timeout or dropped connection
after the request went out, a 5xx after it was sent) leaves the comment "uncertain" in
the outbox. Before it is sent again the site is read back and searched for it; only
when it is not there is it sent again (and a 409 duplicate then still counts as
delivered, for held comments the site does not list). Every send has one overall
deadline, shorter than the outbox lease, and the lease is renewed while a send runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from termnews import http
from termnews.comments import hackernews, inbox, lobsters, outside_backend, reddit
from termnews.comments.backend import (
    DEFAULT_TIMEOUT,
    MAYBE_ARRIVED,
    Capability,
    CommentBackend,
    CommentError,
    CommentInfo,
    CommentTarget,
    OutboxItem,
    Outgoing,
    PostOutcome,
    PostResult,
    Probe,
    host_of,
    hostname_of,
)
from termnews.comments.board import BoardBackend, board_target
from termnews.comments.commentapi import CommentApiBackend
from termnews.comments.deps import Deps
from termnews.comments.discussions import SourceHeader, remembered
from termnews.comments.feeds import CommentFeedBackend
from termnews.comments.outside_backend import to_read
from termnews.comments.profile import Profiles
from termnews.comments.text import is_ours, sent_comment
from termnews.comments.thread import merge
from termnews.comments.wordpress import PostPages
from termnews.comments.wordpress_form import FormBackend
from termnews.comments.wordpress_rest import RestBackend
from termnews.config import Settings
from termnews.model import (
    ArticleDetail,
    Comment,
    CommentSource,
    CommentStatus,
    Draft,
    Identity,
    OutboxRow,
    OutboxState,
    TargetKind,
    backoff,
)
from termnews.sanitize import clean_line
from termnews.store import Store

# Best target first: REST (signed in), the form, CommentAPI; readers; the board last.
BACKENDS: tuple[Callable[[Deps], CommentBackend], ...] = (
    RestBackend,
    FormBackend,
    CommentApiBackend,
    CommentFeedBackend,
    outside_backend.backend(hackernews),
    outside_backend.backend(lobsters),
    outside_backend.backend(reddit),
    outside_backend.MastodonBackend,
    outside_backend.BlueskyBackend,
    BoardBackend,
)

OUTBOX_LEASE = 120.0  # seconds one process holds an outbox item while sending it
SEND_DEADLINE = 45.0  # one send (reading back + posting) never takes longer
FIRST_RETRY = 60.0
MAX_RETRY = 6 * 3600.0
_RETRY_STATES = (OutboxState.PENDING, OutboxState.UNCERTAIN)


def retry_delay(attempts: int) -> float:
    """Exponential backoff for the outbox: 1 min, 2, 4 … at most 6 hours."""
    return backoff(FIRST_RETRY, attempts, MAX_RETRY)


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
        send_deadline: float = SEND_DEADLINE,
        lease: float = OUTBOX_LEASE,
    ) -> None:
        self.store = store
        self.settings = settings
        self.identity = identity
        self.restricted = restricted
        self.data_dir = data_dir
        self.rate_per_minute = rate_per_minute
        self.timeout = timeout
        self.lease = lease
        # A send must end while its lease holds, or a second process could send it too.
        self.send_deadline = min(send_deadline, lease * 0.75)
        self.pages = PostPages()
        self.profiles = Profiles(store, settings, identity, restricted=restricted)

    def _client(self) -> httpx.AsyncClient:
        return http.make_client(self.timeout)

    def _backends(self, host: str | None = None) -> list[CommentBackend]:
        name, email, _ = self.signature(host)
        deps = Deps(
            store=self.store,
            settings=self.settings,
            identity_name=self.identity.name,
            restricted=self.restricted,
            rate_per_minute=self.rate_per_minute,
            shared_host=self.shared_host(),
            as_whom=self._as_whom(host),
            signed=bool(name and email),
            pages=self.pages,
        )
        return [make(deps) for make in BACKENDS]

    def _backend_for(self, kind: str) -> CommentBackend | None:
        for backend in self._backends():
            if kind in backend.kinds:
                return backend
        return None

    def shared_host(self) -> bool:
        """Others read the board here: a served host, or several people in this database."""
        return self.restricted or self.store.identity_count() > 1

    # -- reading ------------------------------------------------------------------

    def cached(self, article_id: int) -> list[Comment]:
        """What is known without the network: cached site comments plus the board."""
        return merge(self.store.cached_comments(article_id), self.store.board_comments(article_id))

    def discussion_headers(self, article_id: int) -> list[SourceHeader]:
        """One line per outside discussion last read for the post ("HN 412 points · …")."""
        return remembered(self.store, article_id)

    async def load(
        self,
        article: ArticleDetail,
        *,
        force: bool = False,
        stale_only: bool = False,
        prefetch: bool = False,
    ) -> list[Comment]:
        """Fetch from every source the post has, cache, and return the merged discussion.

        An outside discussion read less than discussions.refresh_after minutes ago is not
        read again unless `force`; `stale_only` reads only those read before and now stale,
        `prefetch` only the outside ones not read yet or stale (nothing: []).
        Raises CommentError only when the post has sources and none could be read; the
        cache is kept either way.
        """
        errors: list[str] = []
        read = 0
        readers = to_read(self._backends(), article, force, stale_only, prefetch)
        if not readers and (stale_only or prefetch):
            return []  # nothing was due: the caller keeps what it shows
        async with self._client() as client:
            outcomes = await asyncio.gather(
                *(b.read(client, article) for b in readers), return_exceptions=True
            )
        for backend, outcome in zip(readers, outcomes, strict=True):
            if isinstance(outcome, CommentError):
                errors.append(str(outcome))
            elif isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome
                errors.append(f"internal error: {type(outcome).__name__}")
            elif outcome is not None and backend.source is not None:
                self.store.replace_comments(article.id, backend.source, outcome)
                read += 1
        if read:
            self._prune_sent(article.id)
        elif errors:
            raise CommentError("; ".join(errors))
        return self.cached(article.id)

    def _prune_sent(self, article_id: int) -> None:
        """Forget local copies of your comments once the site lists them."""
        cached = self.store.cached_comments(article_id)
        sent = [c for c in cached if c.source == CommentSource.SENT]
        if not sent:
            return
        shown = {c.remote_id for c in merge(cached, []) if c.source == CommentSource.SENT}
        keep = [c for c in sent if c.remote_id in shown]
        if len(keep) != len(sent):
            self.store.replace_comments(article_id, CommentSource.SENT, keep)

    # -- who signs -----------------------------------------------------------------------

    def remember_signature(self, host: str, name: str, email: str, url: str) -> None:
        """What was typed in the modal, for this site and as the default anywhere else."""
        self.profiles.remember(host, name, email, url)

    def signature(self, host: str | None = None) -> tuple[str, str, str]:
        """Name, e-mail and website for a comment to `host` (see `profile.Profiles`)."""
        return self.profiles.signature(host)

    def signature_for(self, article: ArticleDetail) -> tuple[str, str, str]:
        """The signature for a comment on `article` (its site's remembered one first)."""
        return self.signature(host_of(article.link or article.comments.page_url))

    def profile_hint(self) -> str | None:
        """Said the first time someone comments without a profile."""
        return self.profiles.hint()

    def _as_whom(self, host: str | None = None) -> str:
        name, email, _ = self.signature(host)
        if name and email:
            return f"{name} <{email}>"
        return name or email or "(no name set)"

    def board_target(self) -> CommentTarget:
        return board_target(self.identity.name)

    # -- what can be done ------------------------------------------------------------

    async def info(self, article: ArticleDetail) -> CommentInfo:
        """Where a comment on this post can go (best first) and whether comments can be read."""
        host = hostname_of(article.link or article.comments.page_url or article.feed_url)
        backends = self._backends(host_of(article.link or article.comments.page_url))
        async with self._client() as client:
            probes: Sequence[Probe] = await asyncio.gather(
                *(b.probe(client, article) for b in backends)
            )
        targets = [t for p in probes for t in p.targets]
        can_read = any(
            Capability.READ in p.can for b, p in zip(backends, probes, strict=True) if b.source
        )
        page_url = article.comments.page_url or article.link
        reason = None
        if not any(t.kind != TargetKind.BOARD for t in targets):
            reason = self._why_not(article, host, probes, board=bool(targets))
        return CommentInfo(can_read=can_read, targets=targets, page_url=page_url, reason=reason)

    def _why_not(
        self, article: ArticleDetail, host: str, probes: Sequence[Probe], *, board: bool
    ) -> str:
        """Why the site itself takes no comment from here, and what to do instead."""
        instead = "use the board or open the comment page" if board else "open the comment page"
        unreachable = next((p.network_error for p in probes if p.network_error), None)
        if unreachable:
            return f"could not reach {host or 'the site'} ({unreachable}); try again later"
        if _is_blogger(article):
            return f"Blogger posts take no comments from termnews; {instead}"
        if any(p.closed for p in probes):
            return "comments are closed on this post" + (
                "; the board is still open" if board else ""
            )
        return f"this post's site takes no comments from termnews; {instead}"

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

    def _outgoing(self, article: ArticleDetail, draft: Draft, target: CommentTarget) -> Outgoing:
        name, email, url = self.signature_for(article)
        return Outgoing(
            kind=TargetKind(target.kind),
            label=target.label,
            host=target.host,
            body=draft.body,
            article_id=article.id,
            # On a shared host a member signs with their member name, whatever a draft says.
            author=name if self.restricted else (draft.author or name),
            email=draft.email or email,
            url=draft.url or url,
            parent_id=draft.parent_id,
            article_link=article.link,
            article_title=article.title,
            api_url=article.comments.api_url,
            feed_url=article.comments.feed_url,
            thread_url=target.thread_url,
            created=time.time(),
        )

    async def post(self, article: ArticleDetail, draft: Draft, target: CommentTarget) -> PostResult:
        """Send a comment. POSTED/HELD: the draft goes; FAILED and retryable: the outbox
        keeps it; REJECTED: the draft stays for editing."""
        draft.article_id = article.id
        draft.target = target.kind
        outgoing = self._outgoing(article, draft, target)
        site = target.kind != TargetKind.BOARD
        if not draft.body.strip():
            result = PostResult(PostOutcome.REJECTED, "The comment is empty.", None, False)
        elif site and self.restricted and self._site_posts_last_minute() >= self.rate_per_minute:
            result = PostResult(
                PostOutcome.REJECTED,
                f"This host sends at most {self.rate_per_minute} comments a minute for each "
                "person; wait a little and send again.",
                None,
                True,
            )
        else:
            async with self._client() as client:
                if target.kind in (TargetKind.WORDPRESS_FORM, TargetKind.WORDPRESS_REST):
                    post = await self.pages.find(client, article)
                    outgoing.wordpress = post.to_payload() if post is not None else None
                result = await self._deliver(client, outgoing, retrying=False, uncertain=False)
        if site and result.outcome is not PostOutcome.REJECTED:
            host = host_of(article.link or article.comments.page_url)
            self.remember_signature(host, outgoing.author, outgoing.email, outgoing.url)
        if result.outcome in (PostOutcome.POSTED, PostOutcome.HELD):
            if site:
                self._count_site_post()
            self.discard_draft(article.id)
            inbox.remember(self.store, self.identity.name, outgoing, result.comment)
            if result.comment is not None and site:
                self.store.add_comment(article.id, result.comment)
            self._log_activity(target.kind, target.host, article.link)
        elif result.outcome is PostOutcome.FAILED and result.retryable:
            item_id = self.store.outbox_add(
                article.id, self.identity.name, target.kind, outgoing.to_json()
            )
            self.store.outbox_update(
                item_id,
                state=OutboxState.UNCERTAIN if result.uncertain else OutboxState.PENDING,
                error=result.message,
                next_attempt=time.time() + retry_delay(1),
            )
            self.discard_draft(article.id)
            result.message += "; it waits in the outbox (D)"
        else:
            self.save_draft(draft)
        return result

    async def _deliver(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool, uncertain: bool
    ) -> PostResult:
        """One send under the overall deadline; an uncertain one first looks for itself."""
        backend = self._backend_for(outgoing.kind)
        host = clean_line(outgoing.host, 100) or "the site"
        if backend is None:
            message = f"unknown comment target {clean_line(str(outgoing.kind))}"
            return PostResult(PostOutcome.REJECTED, message, None, False)
        sending = False
        try:
            async with asyncio.timeout(self.send_deadline):
                if uncertain:
                    found = await self._look_for(client, backend, outgoing)
                    if found is not None:
                        return found
                sending = True
                return await backend.post(client, outgoing, retrying=retrying or uncertain)
        except TimeoutError:
            limit = f"{self.send_deadline:g} s"
            if sending:
                message = f"{host} did not finish answering within {limit}; {MAYBE_ARRIVED}"
            else:
                message = f"could not check {host} within {limit}; checked again before any retry"
            return PostResult(PostOutcome.FAILED, message, None, True, uncertain=True)

    async def _look_for(
        self, client: httpx.AsyncClient, backend: CommentBackend, outgoing: Outgoing
    ) -> PostResult | None:
        """After an uncertain attempt: the site's own listing, searched for this comment.

        None: not there (or the site cannot be read back), so it may be sent again.
        """
        host = clean_line(outgoing.host, 100) or "the site"
        try:
            listed = await backend.read_back(client, outgoing)
        except CommentError as exc:
            message = (
                f"could not check whether the comment reached {host} ({exc}); "
                "checked again before any retry"
            )
            return PostResult(PostOutcome.FAILED, message, None, True, uncertain=True)
        # Signed in over REST, the site names the author after the account.
        check_author = outgoing.kind != TargetKind.WORDPRESS_REST
        for comment in listed or []:
            if is_ours(comment, outgoing, check_author=check_author):
                held = comment.status is CommentStatus.PENDING
                mine = sent_comment(outgoing, comment.remote_id, comment.link, comment.status)
                return PostResult(
                    PostOutcome.HELD if held else PostOutcome.POSTED,
                    f"Comment delivered to {host} (an earlier attempt had reached it).",
                    mine,
                    False,
                )
        return None

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

    def _log_activity(self, kind: str, host: str, link: str | None) -> None:
        """Served hosts keep one line per posted comment: time, who, where, which post."""
        if not self.restricted or self.data_dir is None:
            return
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        fields = [
            stamp,
            clean_line(self.identity.name, 80),
            clean_line(f"{kind} {host}".strip(), 200),
            clean_line(link or "-", 500),
        ]
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.data_dir / "activity.log", "a", encoding="utf-8") as log:
                log.write("\t".join(f.replace("\t", " ") for f in fields) + "\n")
        except OSError:
            pass  # the comment is posted; a full disk must not turn that into an error

    async def check_replies(self) -> inbox.CheckReport:
        """Look for replies to everyone's comments in the threads due (see comments/inbox)."""
        return await inbox.check(self.store, self.settings, self._backends(), timeout=self.timeout)

    # -- outbox ------------------------------------------------------------------------

    def _item(self, row: OutboxRow) -> OutboxItem:
        payload = row.payload
        try:
            state = OutboxState(row.state)
        except ValueError:
            state = OutboxState.FAILED
        return OutboxItem(
            id=row.id,
            article_id=row.article_id,
            kind=row.target,
            label=str(payload.get("label") or row.target),
            body=str(payload.get("body") or ""),
            state=state,
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
        """Send the due outbox items again (all waiting ones with `force`)."""
        now = time.time()
        results: list[PostResult] = []
        rows = self.store.outbox(self.identity.name, states=list(_RETRY_STATES))
        due = [r for r in rows if force or r.next_attempt <= now]
        if not due:
            return results
        async with self._client() as client:
            for row in due:
                lease = self.store.outbox_lease(row.id, self.lease, _RETRY_STATES)
                if lease is None:
                    continue  # another termnews process is sending it
                try:
                    outgoing = Outgoing.from_json(row.payload, row.target)
                except ValueError:  # written by a termnews that knew other targets
                    message = f"unknown comment target {clean_line(row.target, 40)}"
                    self.store.outbox_update(row.id, state=OutboxState.FAILED, error=message)
                    continue
                outgoing.article_id = outgoing.article_id or row.article_id
                keeper = asyncio.create_task(self._keep_lease(row.id, lease))
                try:
                    result = await self._deliver(
                        client,
                        outgoing,
                        retrying=True,
                        uncertain=row.state == OutboxState.UNCERTAIN,
                    )
                except Exception as exc:  # keep the item; never lose a comment to a bug
                    self.store.outbox_update(
                        row.id,
                        state=row.state,
                        error=f"internal error: {type(exc).__name__}",
                        next_attempt=time.time() + retry_delay(row.attempts + 1),
                    )
                    raise
                finally:
                    keeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await keeper
                self._settle(row, outgoing, result)
                results.append(result)
        return results

    async def _keep_lease(self, item_id: int, lease: float) -> None:
        """Renew an outbox item's lease while it is being sent."""
        token: float | None = lease
        while token is not None:
            await asyncio.sleep(self.lease / 3)
            token = self.store.outbox_renew(item_id, token, self.lease)

    def _settle(self, row: OutboxRow, outgoing: Outgoing, result: PostResult) -> None:
        if result.outcome in (PostOutcome.POSTED, PostOutcome.HELD):
            self.store.outbox_delete(row.id)
            inbox.remember(self.store, row.identity, outgoing, result.comment)
            if result.comment is not None:
                self.store.add_comment(row.article_id, result.comment)
            self._log_activity(outgoing.kind, outgoing.host, outgoing.article_link)
        elif result.outcome is PostOutcome.FAILED and result.retryable:
            # Once uncertain, an item stays so until the site has been read back.
            uncertain = result.uncertain or row.state == OutboxState.UNCERTAIN
            self.store.outbox_update(
                row.id,
                state=OutboxState.UNCERTAIN if uncertain else OutboxState.PENDING,
                error=result.message,
                next_attempt=time.time() + retry_delay(row.attempts + 1),
            )
        else:
            state = (
                OutboxState.REJECTED
                if result.outcome is PostOutcome.REJECTED
                else OutboxState.FAILED
            )
            self.store.outbox_update(row.id, state=state, error=result.message)

    def discard_outbox(self, item_id: int) -> None:
        self._row(item_id)
        self.store.outbox_delete(item_id)

    def edit_outbox(self, item_id: int) -> Draft:
        """Take a comment out of the outbox and make it the post's draft again."""
        row = self._row(item_id)
        waiting = row.state in _RETRY_STATES
        if waiting and self.store.outbox_lease(item_id, self.lease, _RETRY_STATES) is None:
            raise CommentError("that comment is being sent right now; try again in a moment")
        outgoing = Outgoing.from_json(row.payload, row.target)
        draft = Draft(
            article_id=row.article_id,
            identity=self.identity.name,
            body=outgoing.body,
            author=outgoing.author,
            email=outgoing.email,
            url=outgoing.url,
            parent_id=outgoing.parent_id,
            target=row.target,
        )
        self.save_draft(draft)
        self.store.outbox_delete(item_id)
        return draft
