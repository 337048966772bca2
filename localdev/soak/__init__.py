"""`make soak`: the local pipeline under steady load for half an hour, watched for leaks."""
