"""Spiders: they fetch and yield FetchedPage items; they never parse article text."""
