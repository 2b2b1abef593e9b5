"""Small reusable widgets of the game, one module each.

Import them from their modules (``from tutor.ui.widgets.keybar import KeyBar``):
every screen imports the key bar, and the lesson map (the first frame) must not
pay for the lab's or the lesson reader's widgets.
"""
