"""Media input, one door each: what a file is (``sniff``: suffix tables and content signatures), images
(``images``: every image becomes RGB uint8 here, once) and video (``video``: frames in, annotated video out).
Every input that cannot be read raises ``ferkit.errors.MediaError`` naming it, with a ``reason`` the web layer
maps to an HTTP status and the dataset readers to a DatasetError."""
