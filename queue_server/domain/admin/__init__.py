"""Administration of the site's configuration: plain functions over a Session.

Each save function validates what the database must guarantee (unique codes,
prefixes owned by one agency, a counter serving only its agency's services),
applies the change and writes one audit entry in the same transaction. The
caller commits; the web layer only parses forms and shows errors.
"""
