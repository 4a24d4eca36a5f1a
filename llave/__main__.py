"`python -m llave ...` (and `torchrun -m llave ...`): the `llave` command."
from llave.cli import main

raise SystemExit(main())
