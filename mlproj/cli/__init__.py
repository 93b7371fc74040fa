"""mlproj.cli."""
