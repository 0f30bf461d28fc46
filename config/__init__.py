"""Configuration, the bottom layer: one validated ``Settings`` and the registry of shared names.

Imports nothing of the project; every other package may import it.
"""
from config import registry
from config.settings import PROJECT_ROOT, Settings, load_settings

__all__ = ["PROJECT_ROOT", "Settings", "load_settings", "registry"]
