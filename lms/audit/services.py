"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lms.audit.models import AuditEntry
from lms.org.models import Employee


def record(
    db: Session,
    *,
    actor: Employee | None,
    action: str,
    object_type: str,
    object_id: object = None,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry to the session (the caller commits with the change it describes)."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=summary[:500],
        before=before,
        after=after,
    )
    db.add(entry)
    return entry
