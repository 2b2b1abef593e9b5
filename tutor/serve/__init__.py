"""Serving the game to a workshop: ``tutor serve ssh``, ``tutor serve web``, ``tutor board``.

Nothing is imported here: ``tutor --help`` must not pay for asyncssh or Textual.
Modules: :mod:`.ssh` (the SSH server, a package split by responsibility), :mod:`.ptychild` (one app per session on its
own pty), :mod:`.spare` (warm spares), :mod:`.sessions` (``sessions.json``),
:mod:`.hostkey`; for the instructor's board (drawn by :mod:`tutor.ui.board`):
:mod:`.boardfeed` (what it reads from the server's data folder) and
:mod:`.leaderboard` (the ranked rows, and the export of results). The
command-line handlers are :mod:`tutor.cli.serve`; the bench queue the sessions
share is :mod:`tutor.lab.benchqueue`.

:mod:`.room` is the server's side of games joined from learners' machines
(``tutor join``): the room database, its channel on the SSH server, the room view.

POSIX-only: :mod:`.ssh`, :mod:`.ptychild` (pseudo-terminals) and
:mod:`.room.channel` (part of the SSH server). ``tutor serve ssh`` refuses on
Windows before importing them, so Windows never does.
"""
