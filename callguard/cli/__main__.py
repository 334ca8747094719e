import sys

from callguard.cli import main

sys.exit(main())
