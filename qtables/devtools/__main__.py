import sys

from qtables.devtools.generate import main

sys.exit(main(sys.argv[1:]))
