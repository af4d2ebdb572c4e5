import sys

from examples.rehearsal.run import main

sys.exit(main())
