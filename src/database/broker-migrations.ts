import { BrokerAuth1732000000008 } from './migrations/1732000000008-broker-auth';

/**
 * The broker's own tables (API keys, audit, receipt secrets), run by the broker after the
 * library's `mailroomMigrations`. They live with the broker, not in @mailroom/core:
 * applications that use the library in-process never create them.
 */
export const brokerMigrations = [BrokerAuth1732000000008];
