import sys

from failctl.cli import main

sys.exit(main())
