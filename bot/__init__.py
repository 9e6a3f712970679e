"""Pika Discord bot: slash commands in, videos out, with every job durable."""
