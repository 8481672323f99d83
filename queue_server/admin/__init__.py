"""Administration pages (/admin): agencies, services, counters, users,
devices, the audit log and the configuration file.

Only administrators may open them: an anonymous browser is sent to the login
page, an officer or manager gets 403. The rules live in
:mod:`queue_server.domain.admin`; each page module here parses a form, calls
one domain function, commits and shows the result.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from ..models import Role

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/admin-static")


@bp.before_request
@login_required
def _admins_only() -> None:
    """Every /admin page needs an administrator's login."""
    if current_user.role != Role.ADMIN:
        abort(403)


from . import accounts_pages, audit_page, catalogue_pages, config_pages, overview  # noqa: E402,F401
