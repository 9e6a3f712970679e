"""A local stand-in for the Pika Web Bot API that renders real videos, for credit-free use."""
