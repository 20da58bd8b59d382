import { CoreQueues1732000000000 } from './1732000000000-core-queues';
import { Topics1732000000001 } from './1732000000001-topics';

/** Every Mailroom migration, in order. Add them to your DataSource's `migrations`. */
export const mailroomMigrations = [CoreQueues1732000000000, Topics1732000000001];
