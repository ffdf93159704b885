"""What every layer shares: the error hierarchy, logging, URL parsing, settings, the typed
values that cross module boundaries, and the AWS client factory. Imports nothing above it."""
