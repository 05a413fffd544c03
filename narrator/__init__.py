"""narrator: turn a written essay into a chaptered, tagged podcast episode, offline."""

__version__ = "0.1.0"
