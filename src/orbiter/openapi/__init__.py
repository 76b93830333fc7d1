"""The OpenAPI document as client generators want it: `{tag}-{action}` operation ids, a
description per tag, the errors each operation can really answer, and the headers every
response carries."""

from orbiter.openapi.document import install_openapi
from orbiter.openapi.operation_ids import operation_id
from orbiter.openapi.tags import TAGS

__all__ = ["TAGS", "install_openapi", "operation_id"]
