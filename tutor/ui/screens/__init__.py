"""One module per screen. Deliberately no re-exports: the app imports each
screen when it is first shown, so start-up only pays for the lesson map."""
