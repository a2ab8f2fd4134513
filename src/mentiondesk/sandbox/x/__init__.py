"""The sandbox X network: store, WSGI app, scripted mentions and the local server."""
