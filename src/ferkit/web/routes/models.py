"""GET /v1/models: the served model and the shipped ones."""

from __future__ import annotations

from fastapi import APIRouter

from ferkit.web.deps import ServiceDep
from ferkit.web.schemas import ModelsResponse

router = APIRouter()


@router.get("/v1/models", response_model=ModelsResponse, tags=["models"])
async def models(service: ServiceDep) -> dict:
    """The model this server runs (its labels, input and detector) and the models shipped with ferkit."""
    from ferkit import pretrained

    shipped = [
        {
            "name": name,
            "default": name == pretrained.DEFAULT_MODEL,
            "description": str(m.summary.get("description", "")),
        }
        for name, m in pretrained.available().items()
    ]
    return {"loaded": service.model_info(), "shipped": shipped}
