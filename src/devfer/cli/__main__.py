import sys

from devfer.cli import main

sys.exit(main())
