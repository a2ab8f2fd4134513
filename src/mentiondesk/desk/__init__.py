"""TOP FLOOR: the desk people and API clients use: pages, views, forms and API routers (one
subpackage per domain app, templates still in that app's templates/), context processors, the
worker and its schedules, the demo, and the serve/worker/demo commands. It may import any app;
no app imports it (the import-linter contracts in pyproject.toml keep it so)."""
