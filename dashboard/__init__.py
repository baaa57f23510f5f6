"""The web side: Flask server, Dash page, login, REST API."""
