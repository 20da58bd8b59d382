import { LeaseEntity } from '../lease/lease.entity';
import { QueueEntity } from '../queue/queue.entity';
import { SubscriptionEntity } from '../subscription/subscription.entity';
import { TopicEntity } from '../topic/topic.entity';
import { WorkflowInstanceEntity } from '../workflow/workflow.entity';

/** Mailroom's TypeORM entities; add them to your DataSource's `entities`. */
export const mailroomEntities = [QueueEntity, LeaseEntity, TopicEntity, SubscriptionEntity, WorkflowInstanceEntity];
