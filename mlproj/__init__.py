"""mlproj: run MLproject projects reproducibly and record every run to a local tracking store."""

__version__ = "0.1.0"
