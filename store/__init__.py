"""The store: typed models, sessions, migrations, PII encryption, watchlist import, audit log."""
