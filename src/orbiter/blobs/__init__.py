"""/api/v1/blobs: content-addressed blobs and manifests."""
