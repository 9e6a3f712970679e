"""discord.py extensions: thin layers that turn Discord input into validated requests."""
