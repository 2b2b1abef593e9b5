"""Entry points for `tutor`, `tutor quiz` and `tutor join`: build the catalog and the store, run the app.

Imported by the command line for every game start, so nothing heavy at module
level: Textual, the app and its screens are imported inside the functions.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.lessons import Catalog
    from tutor.progress import Store
    from tutor.ui.app import TutorApp


def _open(args: argparse.Namespace) -> tuple[Catalog, Store]:
    from tutor.cli.lessons import lesson_dirs
    from tutor.lessons import load_catalog
    from tutor.paths import data_dir, profile_name
    from tutor.progress import open_store

    extra, builtin = lesson_dirs(args)  # a missing folder: one line, exit 2, no game
    catalog = load_catalog(extra_dirs=extra, builtin=builtin)
    from tutor.errors import UsageError
    from tutor.progress import ProgressStoreError

    try:
        store = open_store(data_dir(args.data_dir), profile_name(args.profile))
    except ValueError as exc:  # a profile name that is not allowed
        raise UsageError(str(exc)) from None
    except (ProgressStoreError, OSError) as exc:
        # A newer schema or an unwritable folder: say so before any screen opens.
        raise SystemExit(f"tutor: cannot open your progress: {exc}") from None
    return catalog, store


def _run(app: TutorApp, store: Store) -> int:
    try:
        app.run()
    finally:
        # Whatever ended the app (quit, exception, signal), no lab run outlives it.
        app.runs.cancel_all(close=True)
        app.runs.wait_gone()
        store.close()
    return int(app.return_code or 0)


def play_command(args: argparse.Namespace) -> int:
    catalog, store = _open(args)
    from tutor.ui.app import TutorApp

    return _run(TutorApp(catalog, store), store)


def quiz_command(args: argparse.Namespace) -> int:
    from tutor.errors import UsageError

    catalog, store = _open(args)
    lesson_id = args.lesson
    if lesson_id is not None:
        lesson = catalog.get(lesson_id)
        if lesson is None:
            store.close()
            ids = ", ".join(lesson.id for lesson in catalog.lessons) or "none found"
            raise UsageError(f"no lesson {lesson_id!r}; choose one of: {ids}")
        if not lesson.quiz:
            store.close()
            with_quiz = ", ".join(lesson.id for lesson in catalog.lessons if lesson.quiz)
            raise UsageError(
                f"lesson {lesson_id!r} has no quiz questions; lessons with a quiz: {with_quiz}"
            )
    elif not catalog.quiz_questions:
        store.close()
        raise UsageError("no quiz questions found in the lessons")
    from tutor.ui.app import TutorApp

    return _run(TutorApp(catalog, store, quiz_lesson=lesson_id, quiz_only=True), store)


def join_command(args: argparse.Namespace) -> int:
    """`tutor join HOST[:PORT] --name NAME`: the game here, its verdicts mirrored to the room."""
    import sys

    from tutor.paths import data_dir
    from tutor.room.headless import room_target

    # Usage errors and the password before any screen.
    target = room_target(
        args.room,
        name=args.name,
        fingerprint=args.fingerprint,
        identity=args.identity,
        data_dir=data_dir(args.data_dir),
    )
    catalog, store = _open(args)
    from tutor.ui.joined import joined_app

    app, client = joined_app(catalog, store, target)
    try:
        return _run(app, store)
    finally:
        client.close()
        client.outbox.close()
        state = client.state
        if state.waiting:
            print(
                f"tutor: {state.waiting} result{'s' if state.waiting != 1 else ''} not yet sent to the room "
                f"at {target.room}: kept, and sent the next time you join",
                file=sys.stderr,
            )
