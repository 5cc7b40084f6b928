"""Model catalog, on-disk store and the pool of loaded models."""
