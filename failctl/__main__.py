import sys

from failctl.launcher import main

sys.exit(main())
