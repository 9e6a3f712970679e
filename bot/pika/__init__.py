"""The Pika Web Bot API: request and response models, a typed async client, and a local Pika."""
