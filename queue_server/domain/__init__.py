"""Queue domain: issuing, numbering, calling and the ticket lifecycle.

Plain functions over a SQLAlchemy ``Session``; nothing here knows about HTTP,
Flask or Socket.IO. Each operation records what changed with
:func:`queue_server.domain.events.record` so the caller can publish it after
the transaction commits.
"""
