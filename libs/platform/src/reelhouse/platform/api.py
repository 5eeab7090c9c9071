"""Base of every REST body: camelCase on the wire (docs/api.md), snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Response/request model: fields serialize by camelCase alias and accept either spelling."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class StrictApiModel(ApiModel):
    """Request body that refuses unknown fields (422 VALIDATION_ERROR) instead of ignoring them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
