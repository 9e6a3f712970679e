"""What the people who run the bot use: metrics, the HTTP server, the status figures."""
