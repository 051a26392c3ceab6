"""The only places that reach into a library's private internals, one module per library.

Each thing used here has no public equivalent (or the public one costs a hot path its
speed: see each function). tests/test_adapters.py checks every one of them against the
installed library, so an upgrade that removes or changes one fails there first, by name.
"""
