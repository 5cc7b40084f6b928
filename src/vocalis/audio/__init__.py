"""Audio decoding, encoding and resampling with PyAV."""
