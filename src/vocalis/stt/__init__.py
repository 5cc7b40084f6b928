"""Speech-to-text: the transcriber protocol, its backends and output formats."""
