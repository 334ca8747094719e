"""Audit entries: who did what, when, to which person's record (UK GDPR accountability)."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: datetime
    who: str
    role: str
    action: str  # e.g. "person.create", "person.read", "strategy.revise"
    target: str  # the id acted on
    person_id: str = ""
    detail: str = ""  # no phone numbers or free text from callers here

    def fields(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "who": self.who,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "person_id": self.person_id,
            "detail": self.detail,
        }

    def flat_json(self) -> str:
        flat: list[str] = []
        for name, value in self.fields().items():
            flat += [name, value]
        return json.dumps(flat)
