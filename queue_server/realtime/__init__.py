"""Socket.IO: who joins which room, snapshots on (re)connect, and pushing
domain events to exactly the rooms that need them.

Rooms:
  public:agency:<id>   displays and kiosks covering the agency (calls, waiting counts)
  staff:agency:<id>    officers of the agency (queue changes with ticket details)
  counter:<id>         every browser open on that counter (kept in step)
  managers             managers and admins (everything, summarised)
  ticket:<token>       one visitor's status page
  service:<id>         visitor pages waiting in a service (positions moved)
"""

from __future__ import annotations

from flask_socketio import SocketIO


def register(socketio: SocketIO) -> None:
    """Bind the handlers to the server ``init_app`` just created for this app."""
    from . import handlers

    handlers.attach(socketio)
