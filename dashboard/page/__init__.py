"""The Dash page: layout, callbacks, value cards, export buttons, URL view state, ids."""
