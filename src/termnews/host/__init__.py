"""`termnews serve`: the SSH host of a community termnews (the front door for members).

What each module holds, in the order a connection meets them:

- ``server``: the asyncssh listener, authentication by member key, the host key, the
  log, the scheduled refresh, and ``run_server``.
- ``limits``: what a connection must get past before it is a session: caps on
  unauthenticated connections (in all and per source address), open mode's reserved
  names and its new-member rate per source address.
- ``hub``: what all connections share (options, open sessions, the zygote).
- ``session``: one SSH session channel: refusals, open mode's name prompt, and the bridge
  between the channel and the session's terminal.
- ``pty``: one termnews process on its own PTY (forked by the zygote or exec'd).
- ``environment``: the only variables a session gets, its command line, its directory.
- ``members``: the members file (who may log in, under which name).
- ``zygote``: the server's handle on the session zygote; ``zygote_main`` is the zygote
  process itself (run with ``python -m``) and the only host module that imports the CLI.

The host imports the core (config, errors, sanitize, service) but never the UI or the
CLI; the CLI imports the host lazily, in the `serve` and `members` handlers.
"""
