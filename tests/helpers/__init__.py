"""Helpers that more than one test package uses: a hand-moved clock, request builders, and the
local Pika's test-only routes. Nothing here starts a process or a server of its own."""
