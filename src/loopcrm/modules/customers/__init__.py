"""Customer master data (PRODUCT.md module 1): accounts, contacts, custom fields, tags, owners,
search, duplicates and merge, import and export."""
