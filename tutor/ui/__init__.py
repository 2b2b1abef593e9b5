"""The game: a Textual app over the lab, the lessons and the progress store.

This package's ``__init__`` imports nothing on purpose: ``tutor.cli.play`` is
imported by the command line for every game start, and Textual itself is only
imported inside the functions that run the app (start-up time matters).
"""
