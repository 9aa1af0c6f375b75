"""Real-time delivery of run events to the browser (the Channels layer of the embedded mode)."""
