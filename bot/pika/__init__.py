"""The Pika Web Bot API: request and response models, the catalogue of job kinds, a typed async
client, and a local Pika."""
