from termnews.cli import main

raise SystemExit(main())
