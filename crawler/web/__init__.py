"""The read-only web UI (`newsarchive serve`)."""
