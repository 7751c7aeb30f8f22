"""`init run db-prepare`: creates the schema; running it again changes nothing."""

from conference import db

with db.connect() as conn, conn.cursor() as cur:
    cur.execute("CREATE TABLE IF NOT EXISTS events (id serial PRIMARY KEY, title text NOT NULL)")
print("db-prepare: schema ready")
