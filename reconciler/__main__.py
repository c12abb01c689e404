"""``python -m reconciler``."""

from reconciler.launch import main

main()
