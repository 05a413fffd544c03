"""Publishing: sidecars (chapters JSON, WebVTT), a folder's episodes, the feed, listening
pages and the server."""
