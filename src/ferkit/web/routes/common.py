"""What several routes share: the JSON of one face and the error responses documented in the OpenAPI schema."""

from __future__ import annotations

from ferkit.web.schemas import ErrorResponse

ERRORS = {code: {"model": ErrorResponse} for code in (413, 415, 422, 503)}


def face_dict(face) -> dict:
    d = face.to_dict()
    d["probability"] = round(float(face.probability), 4)
    return d
