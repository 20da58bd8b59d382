import { CoreQueues1732000000000 } from './1732000000000-core-queues';
import { Topics1732000000001 } from './1732000000001-topics';
import { DeadLetters1732000000002 } from './1732000000002-dead-letters';
import { ExactlyOnce1732000000003 } from './1732000000003-exactly-once';
import { LeaseOwnership1732000000004 } from './1732000000004-lease-ownership';
import { ProducersRoutingTransport1732000000005 } from './1732000000005-producers-routing-transport';
import { Workflows1732000000007 } from './1732000000007-workflows';
import { CommentsNameRealFiles1732000000009 } from './1732000000009-comments-name-real-files';
import { OutboxTraceContext1732000000011 } from './1732000000011-outbox-trace-context';
import { MessageHeapKept1732000000012 } from './1732000000012-message-heap-kept';
import { DelayedMessagesApart1732000000013 } from './1732000000013-delayed-messages-apart';

/**
 * Every Mailroom migration, in order. Add them to your DataSource's `migrations`.
 * (1732000000008 is the broker's own: src/database/broker-migrations.ts.)
 */
export const mailroomMigrations = [
  CoreQueues1732000000000,
  Topics1732000000001,
  DeadLetters1732000000002,
  ExactlyOnce1732000000003,
  LeaseOwnership1732000000004,
  ProducersRoutingTransport1732000000005,
  Workflows1732000000007,
  CommentsNameRealFiles1732000000009,
  OutboxTraceContext1732000000011,
  MessageHeapKept1732000000012,
  DelayedMessagesApart1732000000013,
];
