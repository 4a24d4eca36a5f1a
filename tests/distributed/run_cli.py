"""`llave` as a script, for torchrun (torchrun runs scripts): torchrun --nproc_per_node=2 run_cli.py train ..."""

import sys

from llave.cli import main

if __name__ == "__main__":
    sys.exit(main())
