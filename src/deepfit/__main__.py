import sys

from deepfit.cli.main import main

sys.exit(main())
