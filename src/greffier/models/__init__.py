"""Models: the catalogue (ids, files, checksums, openness cards), the backend registry, backends."""
