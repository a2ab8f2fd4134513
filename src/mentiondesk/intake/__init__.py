"""TOP FLOOR: mention -> post -> ticket. The poll of each handle's mentions and timeline
(`ingest`, `tasks`), direct messages (`dms`), X's webhook (`webhooks/`: its models stay in the
webhooks app) and the history import (`imports/`), with the poll and import commands. It may
import any domain app; only desk/ (URLs, schedules, the demo) imports it."""
