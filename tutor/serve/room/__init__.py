"""The room's server side: joined games report here (see :mod:`tutor.room` for the client).

- :mod:`.store`: ``room.sqlite3``, who joined and every report (no asyncssh);
- :mod:`.channel`: the subsystem channel on the SSH server, limits, the batch writer;
- :mod:`.view`: the per-challenge room view for the board and the export (no Textual).
"""
