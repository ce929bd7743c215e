"""Loaded by every Python process the tests start (it is on their PYTHONPATH).

Refuses, and records in $GREFFIER_NETGUARD_LOG, any connection to an address outside
loopback, so the suite proves that Greffier talks to nobody it was not told to.
"""

import os

if os.environ.get("GREFFIER_NETGUARD_LOG"):
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    import netguard

    netguard.install(os.environ["GREFFIER_NETGUARD_LOG"])
