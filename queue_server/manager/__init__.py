"""Manager pages (/manager): live dashboard, reports, satisfaction index.

Only managers and administrators may open them: an anonymous browser is sent
to the login page, an officer gets 403. Each page lives in its own module and
registers its routes on :data:`bp`.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from ..models import Role

bp = Blueprint("manager", __name__, template_folder="templates", static_folder="static",
               static_url_path="/manager-static")

MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)


@bp.before_request
@login_required
def _managers_only() -> None:
    """Every /manager page needs a manager or admin login."""
    if current_user.role not in MANAGER_ROLES:
        abort(403)


from . import reports  # noqa: E402,F401  (registers its routes on bp)
from .dashboard import dashboard as _dashboard  # noqa: E402,F401  (registers /manager/)
from .ikm import ikm_page as _ikm_page  # noqa: E402,F401  (registers /manager/ikm)
