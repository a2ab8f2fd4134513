"""Write the committed OpenAPI snapshot: `make openapi` after an intended API change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("openapi.json")


def openapi_current() -> dict[str, Any]:
    from mentiondesk.desk.api import api

    return api.get_openapi_schema(path_prefix="/api/v1/")


def openapi_dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentiondesk.settings")
    import django

    django.setup()
    SNAPSHOT.write_text(openapi_dump(openapi_current()))
    print(f"wrote {SNAPSHOT}")
