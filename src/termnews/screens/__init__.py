"""The reader's screens: feed list, reader, comments, compose modal, outbox, help, dialogs.

Screens talk to the core only through ``NewsService`` (``self.tn_app.service``) and take the
core's data types (``model``, ``comments`` results, ``render`` documents); no SQL, no HTTP.
Screens push the screens they lead to themselves; long work runs in workers and comes back
as messages (``termnews.messages``). Widgets come from ``termnews.widgets``.
"""
