import sys

from warden.cli.main import main

sys.exit(main())
