"""mlproj.backends."""
