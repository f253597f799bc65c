"""Applications: the manifest that describes one, the image builder, and the catalogue of
apps a service can run."""
