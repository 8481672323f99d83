"""What every admin page does: who is editing, saving through the domain,
and answering a refused form with 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from ..api.guards import commit_and_publish
from ..domain.admin.changes import Editor
from ..domain.errors import DomainError
from ..extensions import db
from .messages import add_error, clash

T = TypeVar("T")


def editor() -> Editor:
    return Editor(user_id=current_user.id, at=current_app.extensions["antrian_clock"].now())


def attempt(form: FlaskForm, change: Callable[[], T]) -> T | None:
    """Run one domain change and commit it; a refusal lands on the form
    (nothing is kept) and None is returned."""
    try:
        result = change()
        db.session.flush()
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc)
        return None
    except IntegrityError:  # a concurrent edit took the code first
        db.session.rollback()
        form.form_errors.append(clash())
        return None
    commit_and_publish()
    return result


def page(template: str, form: FlaskForm | None = None, **context: Any) -> tuple[str, int]:
    """Render a page; a form shown again after a POST was refused: 400."""
    status = 400 if request.method == "POST" and form is not None else 200
    return render_template(template, form=form, **context), status
