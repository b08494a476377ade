"""The node's web dashboard: static files served at /dashboard, and the browser helpers
that drive it in a headless Chromium (tests and the documentation's screenshots)."""
