"""The HTTP server that runs a user's NLP service in Proctor's serving image."""
