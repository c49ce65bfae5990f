"""Small modal dialogs: ask for text, confirm, pick a link."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from termnews.widgets.inert import inert

if TYPE_CHECKING:
    from termnews.render import Link  # the renderer loads with the first post, not at start


class AskScreen(ModalScreen[str | None]):
    """One line of input; dismisses with the text, or None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"))
            yield Input(value=self.value, placeholder=self.placeholder, id="ask-input")
            if self.hint:
                yield Static(Text(self.hint, style="dim"), classes="hint")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question, style="bold"))
            if self.detail:
                yield Static(Text(self.detail, style="dim"))
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class LinksScreen(ModalScreen[str | None]):
    """The post's own address first, then its numbered links; Enter (or a link's digit)
    picks one."""

    BINDINGS = [
        Binding("escape,q", "cancel", "Close", id="links_close"),
        Binding("i", "show_image", "Show image", id="links_show_image"),
    ]

    def __init__(
        self,
        links: list[Link],
        post_url: str | None = None,
        attachments: list[tuple[str, str]] | None = None,  # (url, description)
        show_image: Callable[[Link], None] | None = None,  # i on an image's address
        *,
        title: str = "Links in this post — Enter opens (or copies over SSH)",
    ) -> None:
        super().__init__()
        self.title_line = title
        self.links = links
        self.post_url = post_url
        self.attachments = attachments or []
        self.show_image = show_image

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text(self.title_line, style="bold"))
            options = []
            if self.post_url:
                options.append(
                    Option(Text.assemble(("[post] ", "bold"), inert(self.post_url, 300)), id="post")
                )
            options += [
                Option(
                    Text.assemble(
                        (f"[{link.number}] ", "bold"),
                        ("(image, i shows it) " if link.image else "", "dim"),
                        inert(link.url, 300),
                    ),
                    id=str(link.number),
                )
                for link in self.links
            ]
            options += [
                Option(
                    Text.assemble((f"[file {n}] ", "bold"), inert(url, 300), (f"  {about}", "dim")),
                    id=f"file{n}",
                )
                for n, (url, about) in enumerate(self.attachments, start=1)
            ]
            if not options:
                options = [Option(Text("This post has no links.", style="dim"), disabled=True)]
            yield OptionList(*options, id="links")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == "post":
            self.dismiss(self.post_url)
            return
        option_id = event.option.id or ""
        if option_id.startswith("file"):
            self.dismiss(self.attachments[int(option_id[4:]) - 1][0])
            return
        number = int(event.option.id or 0)
        for link in self.links:
            if link.number == number:
                self.dismiss(link.url)
                return

    def action_show_image(self) -> None:
        """The highlighted image (the list stays open under it)."""
        highlighted = self.query_one(OptionList).highlighted_option
        number = highlighted.id if highlighted is not None else None
        for link in self.links:
            if str(link.number) == number and link.image and self.show_image is not None:
                self.show_image(link)
                return
        self.app.notify("That is not an image's address.", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
