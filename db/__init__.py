"""The metrics store: models, engine, query functions. Knows nothing of Dash or Flask."""
