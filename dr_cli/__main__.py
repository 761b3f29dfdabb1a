import sys

from dr_cli.main import main

sys.exit(main())
