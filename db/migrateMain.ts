/** `npm run db:migrate`: applies the checked-in migrations to DATABASE_URL, then exits (a deployment's migrate step). */
import { migrateDatabase } from './migrate';

const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('db:migrate: set DATABASE_URL to the PostgreSQL database to migrate\n');
  process.exit(2);
}
await migrateDatabase(url);
process.stdout.write('db:migrate: the database is up to date\n');
