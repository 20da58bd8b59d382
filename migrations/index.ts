import { CoreQueues1732000000000 } from './1732000000000-core-queues';

/** Every Mailroom migration, in order. Add them to your DataSource's `migrations`. */
export const mailroomMigrations = [CoreQueues1732000000000];
