"""The I/O: Apify, DynamoDB, SQS, Secrets Manager and HTTP, each behind a port of `run_notifier.domain.ports`."""
