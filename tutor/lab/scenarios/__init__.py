"""One module per lab scenario; see :mod:`tutor.lab.context` for the contract."""
