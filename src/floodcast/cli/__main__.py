"""``python -m floodcast.cli``: the same as the ``floodcast`` command."""

from floodcast.cli import main

main()
