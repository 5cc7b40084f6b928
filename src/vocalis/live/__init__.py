"""The one streaming core under every live protocol: audio in, endpointing, stable partials,
final transcripts; incremental text to sentences for speech out. No protocol code here."""
