"""Joining a workshop room from the learner's own machine (``tutor join``).

Plain data and a network client, no Textual: the game and ``tutor run --join``
both use it, and only show its state.

- :mod:`.protocol`: the subsystem name, the versioned newline-delimited JSON
  messages, their validation (the server's) and building (the client's);
- :mod:`.outbox`: reports waiting to be sent, durable in a small SQLite file;
- :mod:`.hostkeys`: room host keys remembered on first use, a changed key refused;
- :mod:`.client`: :class:`~tutor.room.client.RoomClient`, the connection in its own thread;
- :mod:`.mirror`: a progress store wrapper that mirrors what the game saves to the room;
- :mod:`.headless`: ``tutor run --join`` (report a comparison, say in one line what happened).

The server's side lives in :mod:`tutor.serve.room`.
"""
