"""Shared code of the Apify Run Notifier (deployed as a Lambda layer)."""
