"""Audio: joining and levelling, encoding, m4b, MP3 frames, tags and the cover."""
