"""The terminal output layer (UI side: it imports Textual and Rich).

Between Textual's compositor and the terminal it keeps a shadow of what the terminal shows
and sends only the difference: `cells` (what a cell holds), `diff` (shadow, model, and the
bytes between them), `updates` (compositor updates drawn as cells), `hook` (the App).
"""
