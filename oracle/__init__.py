"""The condition oracle: indicators -> score -> value -> signed report -> transmission."""
