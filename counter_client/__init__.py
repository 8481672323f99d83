"""The counter officer's side: the /counter pages (:mod:`counter_client.pages`,
:mod:`counter_client.survey`) and the ``antrian-counter`` shell client
(:mod:`counter_client.cli`).

Kept free of imports: the shell client runs on an officer's PC with only
``requests`` to load, and must not pull in the server (Flask, Socket.IO,
SQLAlchemy) on every command.
"""
