"""The durable job core: the paid call, the tracker that brings every job to an end, and the
push receiver. No Discord here: the tracker talks to Discord only through its Notifier."""
