"""Import an uploaded configuration file: parse, check, apply, audit.

Everything happens in the caller's one transaction: on any problem nothing is
applied (the caller rolls back), and a successful import writes one audit
entry with what was created and updated. A file exported by this server
(no passwords, no keys) imports cleanly: existing rows keep their secrets,
new devices get generated keys (returned once) and new users an unusable
password until an administrator sets one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .config_check import Problem, check_config
from .config_import import ImportReport, import_config
from .database import begin_write
from .domain.admin import audit, prefixes
from .domain.admin.changes import Editor
from .domain.errors import DomainError
from .domain.events import DomainEvent, record
from .models import Agency

MAX_BYTES = 4 * 1024 * 1024  # the 40-agency example is ~200 KB


@dataclass
class UploadResult:
    problems: list[Problem] = field(default_factory=list)
    report: ImportReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.report is not None


def apply_upload(session: Session, editor: Editor, data: bytes, filename: str) -> UploadResult:
    """Import ``data``; on problems the caller must roll back the session."""
    try:
        config = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return UploadResult([Problem(filename, "not_utf8")])
    except tomllib.TOMLDecodeError as exc:
        return UploadResult([Problem(filename, "toml_syntax", {"detail": str(exc)})])
    begin_write(session)
    known = set(session.execute(select(Agency.code)).scalars())
    problems = check_config(config, known)
    if problems:
        return UploadResult(problems)
    try:
        report = import_config(session, config, new_secrets=True)
        clashes = prefixes.clashes(session)
    except DomainError as exc:
        return UploadResult([Problem(filename, "import_refused", {"detail": exc.message})])
    except IntegrityError as exc:
        return UploadResult([Problem(filename, "conflict", {"detail": str(exc.orig)[:200]})])
    if clashes:  # a file agency took a prefix an agency missing from the file still uses
        return UploadResult([Problem(f"prefix {p}", "prefix_shared", {"agencies": ", ".join(c)})
                             for p, c in clashes.items()])
    audit.write(session, editor.at, editor.user_id, "import", "config", None, filename, {},
                {"file": filename, "created": dict(report.created),
                 "updated": dict(report.updated),
                 "generated_keys": [code for code, _key, _kind in report.generated_keys],
                 "without_password": list(report.without_password)})
    # Kiosks and displays refresh their agency lists (queue.changed per agency).
    agency_ids = tuple(session.execute(select(Agency.id)).scalars())
    record(session, DomainEvent("config.changed", agency_ids=agency_ids))
    return UploadResult(report=report)

