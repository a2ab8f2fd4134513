from mentiondesk.cli import main

raise SystemExit(main())
