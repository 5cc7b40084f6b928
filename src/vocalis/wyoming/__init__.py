"""Home Assistant's Wyoming protocol, served beside HTTP on the same models and job queue.

`serving(services)` runs the server for as long as its block, when `wyoming_uri` is set.
"""

from vocalis.wyoming.server import WyomingServer, serving

__all__ = ["WyomingServer", "serving"]
