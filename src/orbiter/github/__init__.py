"""GitHub through the caller's `github` infrastructure credential, else the server's token."""
