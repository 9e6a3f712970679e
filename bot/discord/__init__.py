"""The Discord side of the bot outside the cogs: what members read, result posts, delivery."""
