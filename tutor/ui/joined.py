"""The game joined to a room: the same app, its store mirrored, the room's state in the title.

All the room's work happens in :mod:`tutor.room` (a thread with its own loop);
this only shows its state: the title bar reads "room: joined as ada",
"room: reconnecting" or "room: offline", and a reason the learner can act on
(a wrong password, a changed host key) comes once as a notification.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, cast

from tutor.room.client import JOINED, OFFLINE, RECONNECTING, RoomClient, RoomState, RoomTarget
from tutor.room.mirror import MirroredStore
from tutor.room.outbox import Outbox
from tutor.ui.app import TutorApp

if TYPE_CHECKING:
    from tutor.lessons import Catalog
    from tutor.progress import Store


def room_label(state: RoomState) -> str:
    """A few words for the title bar (plain text: readable without colour)."""
    waiting = f", {state.waiting} to send" if state.waiting else ""
    if state.status == JOINED:
        return f"room: joined as {state.name}{waiting}"
    if state.status == RECONNECTING:
        return f"room: reconnecting{waiting}"
    if state.status == OFFLINE:
        return f"room: offline{waiting}"
    return "room: joining"


class JoinedTutorApp(TutorApp):
    """:class:`TutorApp` plus a room client; Textual calls both classes' handlers."""

    def __init__(self, catalog: Catalog, store: Store, client: RoomClient, **kwargs: Any) -> None:
        super().__init__(catalog, store, **kwargs)
        self.room = client
        self._told: str | None = None
        self.title = f"{TutorApp.TITLE} · {room_label(client.state)}"

    def on_mount(self) -> None:
        self.room.on_state = self._from_room_thread
        self.room.start()
        self._show_room(self.room.state)

    def _from_room_thread(self, state: RoomState) -> None:
        # Also called on the app's own thread: a verdict saved there queues a report.
        if threading.get_ident() == getattr(self, "_thread_id", None):
            self._show_room(state)
            return
        with contextlib.suppress(RuntimeError):  # not running (yet, or any more)
            self.call_from_thread(self._show_room, state)

    def _show_room(self, state: RoomState) -> None:
        from tutor.ui.widgets.titlebar import TitleBar

        self.title = f"{TutorApp.TITLE} · {room_label(state)}"
        # Every title bar of the stack, so a screen shown again is already right.
        for screen in self.screen_stack:
            for bar in screen.query(TitleBar):
                bar.refresh()
        news = (
            state.detail
            if state.status == OFFLINE or state.detail.startswith("remembered")
            else None
        )
        if news and news != self._told:
            self._told = news
            self.notify(
                news,
                title="Room",
                severity="error" if state.status == OFFLINE else "information",
                timeout=20 if state.status == OFFLINE else 8,
            )


def joined_app(
    catalog: Catalog, store: Store, target: RoomTarget
) -> tuple[JoinedTutorApp, RoomClient]:
    from tutor.lab.facts import machine_facts

    client = RoomClient(target, Outbox(target.data_dir))
    mirrored = MirroredStore(store, client, machine_facts())
    # A MirroredStore answers everything a Store does (what it does not report, it passes on).
    return JoinedTutorApp(catalog, cast("Store", mirrored), client), client
