"""Storage: the interface (interface.py) and its embedded SQLite + Parquet default."""
