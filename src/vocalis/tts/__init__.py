"""Text-to-speech: text preparation and the synthesis engines."""
