"""Learners' progress, kept in SQLite (no Textual here: a test checks).

```python
from tutor.progress import open_store, Store, LessonProgress, ProgressImportError

with open_store(data_dir, profile) as store:      # data_dir/progress.sqlite3
    if store.recovered_from:                        # a corrupt/foreign file was moved aside
        tell_the_learner(store.recovered_from, store.recovered_reason)
    store.record_challenge("gil", "crunch-2", choice="processes", predicted_speedup=1.8,
                           measured_speedup=1.7, winner="processes", correct=True, result={...})
    store.record_quiz("gil", "q1", chosen=[2], correct=True, hint_used=False)
    store.add_time("gil", 42.0)
    store.set_position("gil", "quiz")               # resume point; store.position()
    store.complete_if_done("gil", ["crunch-2"], ["q1"])  # True when the done rule just became true
    store.task_states("gil")                        # task id -> answered right at least once
    store.lesson_progress("gil").state              # "not started" | "in progress" | "done"
    store.all_progress()                            # {lesson_id: LessonProgress}
    data = store.export(); store.import_(data)      # JSON-able; merging is idempotent
    store.reset("gil"); store.reset()

list_profiles(data_dir); board_rows(data_dir)       # read-only, for the instructor's board
```

Every ``record_*`` call is durable when it returns (WAL, ``synchronous=FULL``).
Errors the caller may want to show: :class:`ProgressStoreError` (cannot open or
write: newer schema, unwritable folder, lock timeout), :class:`ProgressImportError`
(bad export), both subclasses of :class:`ProgressError`. Bad arguments from
code raise ``ValueError``/``TypeError``. The schema lives in
:mod:`tutor.progress.schema`.
"""

from tutor.progress.store import (
    DB_NAME,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ImportSummary,
    LessonProgress,
    ProgressError,
    ProgressImportError,
    ProgressStoreError,
    Store,
    TaskStates,
    board_rows,
    check_profile,
    list_profiles,
    open_store,
    validate_export,
)

__all__ = [
    "DB_NAME",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "ImportSummary",
    "LessonProgress",
    "ProgressError",
    "ProgressImportError",
    "ProgressStoreError",
    "Store",
    "TaskStates",
    "board_rows",
    "check_profile",
    "list_profiles",
    "open_store",
    "validate_export",
]
