"""Services: the application's use cases, free of HTTP and SQL."""
