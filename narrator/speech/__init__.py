"""Speech: the engine interface, one module per engine, the engine registry and the
worker pool."""
