"""Problems found in an uploaded package, reported together so the author can fix them at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackageError:
    code: str
    message: str
    path: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "path": self.path, "line": self.line}


class PackageInvalid(Exception):
    def __init__(self, errors: list[PackageError]):
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors) or "invalid package")

    def codes(self) -> list[str]:
        return [e.code for e in self.errors]
