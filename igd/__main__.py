from igd.cli import main

raise SystemExit(main())
